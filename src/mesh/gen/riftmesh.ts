import { decodeMessage, encodeMessage, enumeration, MaxLengthError, message, streamMessage } from 'protons-runtime'
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc'
import type { Codec, DecodeOptions } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'

export interface DocUpdate {
  version: number
  doc: string
  update: Uint8Array<ArrayBuffer>
  tooLarge: boolean
}

export namespace DocUpdate {
  let _codec: Codec<DocUpdate>

  export const codec = (): Codec<DocUpdate> => {
    if (_codec == null) {
      _codec = message<DocUpdate>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.version != null && obj.version !== 0)) {
          w.uint32(8)
          w.uint32(obj.version)
        }

        if ((obj.doc != null && obj.doc !== '')) {
          w.uint32(18)
          w.string(obj.doc)
        }

        if ((obj.update != null && obj.update.byteLength > 0)) {
          w.uint32(26)
          w.bytes(obj.update)
        }

        if ((obj.tooLarge != null && obj.tooLarge !== false)) {
          w.uint32(32)
          w.bool(obj.tooLarge)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          version: 0,
          doc: '',
          update: uint8ArrayAlloc(0),
          tooLarge: false
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.version = reader.uint32()
              break
            }
            case 2: {
              obj.doc = reader.string()
              break
            }
            case 3: {
              obj.update = reader.bytes()
              break
            }
            case 4: {
              obj.tooLarge = reader.bool()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.version`,
                value: reader.uint32()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.doc`,
                value: reader.string()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.update`,
                value: reader.bytes()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.tooLarge`,
                value: reader.bool()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface DocUpdateVersionFieldEvent {
    field: '$.version'
    value: number
  }

  export interface DocUpdateDocFieldEvent {
    field: '$.doc'
    value: string
  }

  export interface DocUpdateUpdateFieldEvent {
    field: '$.update'
    value: Uint8Array<ArrayBuffer>
  }

  export interface DocUpdateTooLargeFieldEvent {
    field: '$.tooLarge'
    value: boolean
  }

  export function encode (obj: Partial<DocUpdate>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, DocUpdate.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<DocUpdate>): DocUpdate {
    return decodeMessage(buf, DocUpdate.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<DocUpdate>): Generator<DocUpdateVersionFieldEvent | DocUpdateDocFieldEvent | DocUpdateUpdateFieldEvent | DocUpdateTooLargeFieldEvent> {
    return streamMessage(buf, DocUpdate.codec(), opts)
  }
}

export interface Heartbeat {
  version: number
  nodeId: string
  seq: bigint
  sentAtMs: bigint
  cpuPercent: number
  memoryPercent: number
  diskPercent: number
  gpuPercent: number
  gpuMemoryPercent: number
  selfplayJobs: number
  trainingJobs: number
  stateDigest: Uint8Array<ArrayBuffer>
}

export namespace Heartbeat {
  let _codec: Codec<Heartbeat>

  export const codec = (): Codec<Heartbeat> => {
    if (_codec == null) {
      _codec = message<Heartbeat>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.version != null && obj.version !== 0)) {
          w.uint32(8)
          w.uint32(obj.version)
        }

        if ((obj.nodeId != null && obj.nodeId !== '')) {
          w.uint32(18)
          w.string(obj.nodeId)
        }

        if ((obj.seq != null && obj.seq !== 0n)) {
          w.uint32(24)
          w.uint64(obj.seq)
        }

        if ((obj.sentAtMs != null && obj.sentAtMs !== 0n)) {
          w.uint32(32)
          w.uint64(obj.sentAtMs)
        }

        if ((obj.cpuPercent != null && obj.cpuPercent !== 0)) {
          w.uint32(45)
          w.float(obj.cpuPercent)
        }

        if ((obj.memoryPercent != null && obj.memoryPercent !== 0)) {
          w.uint32(53)
          w.float(obj.memoryPercent)
        }

        if ((obj.diskPercent != null && obj.diskPercent !== 0)) {
          w.uint32(61)
          w.float(obj.diskPercent)
        }

        if ((obj.gpuPercent != null && obj.gpuPercent !== 0)) {
          w.uint32(69)
          w.float(obj.gpuPercent)
        }

        if ((obj.gpuMemoryPercent != null && obj.gpuMemoryPercent !== 0)) {
          w.uint32(77)
          w.float(obj.gpuMemoryPercent)
        }

        if ((obj.selfplayJobs != null && obj.selfplayJobs !== 0)) {
          w.uint32(80)
          w.uint32(obj.selfplayJobs)
        }

        if ((obj.trainingJobs != null && obj.trainingJobs !== 0)) {
          w.uint32(88)
          w.uint32(obj.trainingJobs)
        }

        if ((obj.stateDigest != null && obj.stateDigest.byteLength > 0)) {
          w.uint32(98)
          w.bytes(obj.stateDigest)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          version: 0,
          nodeId: '',
          seq: 0n,
          sentAtMs: 0n,
          cpuPercent: 0,
          memoryPercent: 0,
          diskPercent: 0,
          gpuPercent: 0,
          gpuMemoryPercent: 0,
          selfplayJobs: 0,
          trainingJobs: 0,
          stateDigest: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.version = reader.uint32()
              break
            }
            case 2: {
              obj.nodeId = reader.string()
              break
            }
            case 3: {
              obj.seq = reader.uint64()
              break
            }
            case 4: {
              obj.sentAtMs = reader.uint64()
              break
            }
            case 5: {
              obj.cpuPercent = reader.float()
              break
            }
            case 6: {
              obj.memoryPercent = reader.float()
              break
            }
            case 7: {
              obj.diskPercent = reader.float()
              break
            }
            case 8: {
              obj.gpuPercent = reader.float()
              break
            }
            case 9: {
              obj.gpuMemoryPercent = reader.float()
              break
            }
            case 10: {
              obj.selfplayJobs = reader.uint32()
              break
            }
            case 11: {
              obj.trainingJobs = reader.uint32()
              break
            }
            case 12: {
              obj.stateDigest = reader.bytes()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.version`,
                value: reader.uint32()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.nodeId`,
                value: reader.string()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.seq`,
                value: reader.uint64()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.sentAtMs`,
                value: reader.uint64()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.cpuPercent`,
                value: reader.float()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.memoryPercent`,
                value: reader.float()
              }
              break
            }
            case 7: {
              yield {
                field: `${prefix}.diskPercent`,
                value: reader.float()
              }
              break
            }
            case 8: {
              yield {
                field: `${prefix}.gpuPercent`,
                value: reader.float()
              }
              break
            }
            case 9: {
              yield {
                field: `${prefix}.gpuMemoryPercent`,
                value: reader.float()
              }
              break
            }
            case 10: {
              yield {
                field: `${prefix}.selfplayJobs`,
                value: reader.uint32()
              }
              break
            }
            case 11: {
              yield {
                field: `${prefix}.trainingJobs`,
                value: reader.uint32()
              }
              break
            }
            case 12: {
              yield {
                field: `${prefix}.stateDigest`,
                value: reader.bytes()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface HeartbeatVersionFieldEvent {
    field: '$.version'
    value: number
  }

  export interface HeartbeatNodeIdFieldEvent {
    field: '$.nodeId'
    value: string
  }

  export interface HeartbeatSeqFieldEvent {
    field: '$.seq'
    value: bigint
  }

  export interface HeartbeatSentAtMsFieldEvent {
    field: '$.sentAtMs'
    value: bigint
  }

  export interface HeartbeatCpuPercentFieldEvent {
    field: '$.cpuPercent'
    value: number
  }

  export interface HeartbeatMemoryPercentFieldEvent {
    field: '$.memoryPercent'
    value: number
  }

  export interface HeartbeatDiskPercentFieldEvent {
    field: '$.diskPercent'
    value: number
  }

  export interface HeartbeatGpuPercentFieldEvent {
    field: '$.gpuPercent'
    value: number
  }

  export interface HeartbeatGpuMemoryPercentFieldEvent {
    field: '$.gpuMemoryPercent'
    value: number
  }

  export interface HeartbeatSelfplayJobsFieldEvent {
    field: '$.selfplayJobs'
    value: number
  }

  export interface HeartbeatTrainingJobsFieldEvent {
    field: '$.trainingJobs'
    value: number
  }

  export interface HeartbeatStateDigestFieldEvent {
    field: '$.stateDigest'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<Heartbeat>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Heartbeat.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Heartbeat>): Heartbeat {
    return decodeMessage(buf, Heartbeat.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Heartbeat>): Generator<HeartbeatVersionFieldEvent | HeartbeatNodeIdFieldEvent | HeartbeatSeqFieldEvent | HeartbeatSentAtMsFieldEvent | HeartbeatCpuPercentFieldEvent | HeartbeatMemoryPercentFieldEvent | HeartbeatDiskPercentFieldEvent | HeartbeatGpuPercentFieldEvent | HeartbeatGpuMemoryPercentFieldEvent | HeartbeatSelfplayJobsFieldEvent | HeartbeatTrainingJobsFieldEvent | HeartbeatStateDigestFieldEvent> {
    return streamMessage(buf, Heartbeat.codec(), opts)
  }
}

export interface DocVector {
  doc: string
  stateVector: Uint8Array<ArrayBuffer>
  digest: Uint8Array<ArrayBuffer>
}

export namespace DocVector {
  let _codec: Codec<DocVector>

  export const codec = (): Codec<DocVector> => {
    if (_codec == null) {
      _codec = message<DocVector>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.doc != null && obj.doc !== '')) {
          w.uint32(10)
          w.string(obj.doc)
        }

        if ((obj.stateVector != null && obj.stateVector.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.stateVector)
        }

        if ((obj.digest != null && obj.digest.byteLength > 0)) {
          w.uint32(26)
          w.bytes(obj.digest)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          doc: '',
          stateVector: uint8ArrayAlloc(0),
          digest: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.doc = reader.string()
              break
            }
            case 2: {
              obj.stateVector = reader.bytes()
              break
            }
            case 3: {
              obj.digest = reader.bytes()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.doc`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.stateVector`,
                value: reader.bytes()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.digest`,
                value: reader.bytes()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface DocVectorDocFieldEvent {
    field: '$.doc'
    value: string
  }

  export interface DocVectorStateVectorFieldEvent {
    field: '$.stateVector'
    value: Uint8Array<ArrayBuffer>
  }

  export interface DocVectorDigestFieldEvent {
    field: '$.digest'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<DocVector>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, DocVector.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<DocVector>): DocVector {
    return decodeMessage(buf, DocVector.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<DocVector>): Generator<DocVectorDocFieldEvent | DocVectorStateVectorFieldEvent | DocVectorDigestFieldEvent> {
    return streamMessage(buf, DocVector.codec(), opts)
  }
}

export interface SyncFrame {
  version: number
  kind: SyncFrame.Kind
  vectors: DocVector[]
  doc: string
  update: Uint8Array<ArrayBuffer>
  cluster: string
}

export namespace SyncFrame {
  export enum Kind {
    STEP1 = 'STEP1',
    UPDATE = 'UPDATE',
    DONE = 'DONE'
  }

  enum __KindValues {
    STEP1 = 0,
    UPDATE = 1,
    DONE = 2
  }

  export namespace Kind {
    export const codec = (): Codec<Kind> => {
      return enumeration<Kind>(__KindValues)
    }
  }

  let _codec: Codec<SyncFrame>

  export const codec = (): Codec<SyncFrame> => {
    if (_codec == null) {
      _codec = message<SyncFrame>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.version != null && obj.version !== 0)) {
          w.uint32(8)
          w.uint32(obj.version)
        }

        if (obj.kind != null && __KindValues[obj.kind] !== 0) {
          w.uint32(16)
          SyncFrame.Kind.codec().encode(obj.kind, w)
        }

        if (obj.vectors != null && obj.vectors.length > 0) {
          for (const value of obj.vectors) {
            w.uint32(26)
            DocVector.codec().encode(value, w)
          }
        }

        if ((obj.doc != null && obj.doc !== '')) {
          w.uint32(34)
          w.string(obj.doc)
        }

        if ((obj.update != null && obj.update.byteLength > 0)) {
          w.uint32(42)
          w.bytes(obj.update)
        }

        if ((obj.cluster != null && obj.cluster !== '')) {
          w.uint32(50)
          w.string(obj.cluster)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          version: 0,
          kind: Kind.STEP1,
          vectors: [],
          doc: '',
          update: uint8ArrayAlloc(0),
          cluster: ''
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.version = reader.uint32()
              break
            }
            case 2: {
              obj.kind = SyncFrame.Kind.codec().decode(reader)
              break
            }
            case 3: {
              if (opts.limits?.vectors != null && obj.vectors.length === opts.limits.vectors) {
                throw new MaxLengthError('Decode error - repeated field "vectors" had too many elements')
              }

              obj.vectors.push(DocVector.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.vectors$
              }))
              break
            }
            case 4: {
              obj.doc = reader.string()
              break
            }
            case 5: {
              obj.update = reader.bytes()
              break
            }
            case 6: {
              obj.cluster = reader.string()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const obj = {
          vectors: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.version`,
                value: reader.uint32()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.kind`,
                value: SyncFrame.Kind.codec().decode(reader)
              }
              break
            }
            case 3: {
              if (opts.limits?.vectors != null && obj.vectors === opts.limits.vectors) {
                throw new MaxLengthError('Streaming decode error - repeated field "vectors" had too many elements')
              }

              for (const evt of DocVector.codec().stream(reader, reader.uint32(), `${prefix}.vectors[]`, {
                limits: opts.limits?.vectors$
              })) {
                yield {
                  ...evt,
                  index: obj.vectors
                }
              }

              obj.vectors++

              break
            }
            case 4: {
              yield {
                field: `${prefix}.doc`,
                value: reader.string()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.update`,
                value: reader.bytes()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.cluster`,
                value: reader.string()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface SyncFrameVersionFieldEvent {
    field: '$.version'
    value: number
  }

  export interface SyncFrameKindFieldEvent {
    field: '$.kind'
    value: SyncFrame.Kind
  }

  export interface SyncFrameVectorsDocFieldEvent {
    field: '$.vectors[].doc'
    value: string
    index: number
  }

  export interface SyncFrameVectorsStateVectorFieldEvent {
    field: '$.vectors[].stateVector'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface SyncFrameVectorsDigestFieldEvent {
    field: '$.vectors[].digest'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface SyncFrameDocFieldEvent {
    field: '$.doc'
    value: string
  }

  export interface SyncFrameUpdateFieldEvent {
    field: '$.update'
    value: Uint8Array<ArrayBuffer>
  }

  export interface SyncFrameClusterFieldEvent {
    field: '$.cluster'
    value: string
  }

  export function encode (obj: Partial<SyncFrame>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, SyncFrame.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SyncFrame>): SyncFrame {
    return decodeMessage(buf, SyncFrame.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SyncFrame>): Generator<SyncFrameVersionFieldEvent | SyncFrameKindFieldEvent | SyncFrameVectorsDocFieldEvent | SyncFrameVectorsStateVectorFieldEvent | SyncFrameVectorsDigestFieldEvent | SyncFrameDocFieldEvent | SyncFrameUpdateFieldEvent | SyncFrameClusterFieldEvent> {
    return streamMessage(buf, SyncFrame.codec(), opts)
  }
}
