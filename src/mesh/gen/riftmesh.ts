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
  incarnation: bigint
  trustRootDigest: Uint8Array<ArrayBuffer>
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

        if ((obj.incarnation != null && obj.incarnation !== 0n)) {
          w.uint32(104)
          w.uint64(obj.incarnation)
        }

        if ((obj.trustRootDigest != null && obj.trustRootDigest.byteLength > 0)) {
          w.uint32(114)
          w.bytes(obj.trustRootDigest)
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
          stateDigest: uint8ArrayAlloc(0),
          incarnation: 0n,
          trustRootDigest: uint8ArrayAlloc(0)
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
            case 13: {
              obj.incarnation = reader.uint64()
              break
            }
            case 14: {
              obj.trustRootDigest = reader.bytes()
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
            case 13: {
              yield {
                field: `${prefix}.incarnation`,
                value: reader.uint64()
              }
              break
            }
            case 14: {
              yield {
                field: `${prefix}.trustRootDigest`,
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

  export interface HeartbeatIncarnationFieldEvent {
    field: '$.incarnation'
    value: bigint
  }

  export interface HeartbeatTrustRootDigestFieldEvent {
    field: '$.trustRootDigest'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<Heartbeat>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Heartbeat.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Heartbeat>): Heartbeat {
    return decodeMessage(buf, Heartbeat.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Heartbeat>): Generator<HeartbeatVersionFieldEvent | HeartbeatNodeIdFieldEvent | HeartbeatSeqFieldEvent | HeartbeatSentAtMsFieldEvent | HeartbeatCpuPercentFieldEvent | HeartbeatMemoryPercentFieldEvent | HeartbeatDiskPercentFieldEvent | HeartbeatGpuPercentFieldEvent | HeartbeatGpuMemoryPercentFieldEvent | HeartbeatSelfplayJobsFieldEvent | HeartbeatTrainingJobsFieldEvent | HeartbeatStateDigestFieldEvent | HeartbeatIncarnationFieldEvent | HeartbeatTrustRootDigestFieldEvent> {
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
    DONE = 'DONE',
    RETIRED = 'RETIRED'
  }

  enum __KindValues {
    STEP1 = 0,
    UPDATE = 1,
    DONE = 2,
    RETIRED = 3
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

export interface TransferRequest {
  version: number
  op: TransferRequest.Op
  path: string
  offset: bigint
  expectedSha256: string
  credit: number
  fastPath: boolean
  cursor: string
  limit: number
  items: TransferBatchItem[]
}

export namespace TransferRequest {
  export enum Op {
    GET = 'GET',
    LIST = 'LIST',
    CREDIT = 'CREDIT',
    SIDE = 'SIDE',
    BATCH = 'BATCH'
  }

  enum __OpValues {
    GET = 0,
    LIST = 1,
    CREDIT = 2,
    SIDE = 3,
    BATCH = 4
  }

  export namespace Op {
    export const codec = (): Codec<Op> => {
      return enumeration<Op>(__OpValues)
    }
  }

  let _codec: Codec<TransferRequest>

  export const codec = (): Codec<TransferRequest> => {
    if (_codec == null) {
      _codec = message<TransferRequest>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.version != null && obj.version !== 0)) {
          w.uint32(8)
          w.uint32(obj.version)
        }

        if (obj.op != null && __OpValues[obj.op] !== 0) {
          w.uint32(16)
          TransferRequest.Op.codec().encode(obj.op, w)
        }

        if ((obj.path != null && obj.path !== '')) {
          w.uint32(26)
          w.string(obj.path)
        }

        if ((obj.offset != null && obj.offset !== 0n)) {
          w.uint32(32)
          w.uint64(obj.offset)
        }

        if ((obj.expectedSha256 != null && obj.expectedSha256 !== '')) {
          w.uint32(42)
          w.string(obj.expectedSha256)
        }

        if ((obj.credit != null && obj.credit !== 0)) {
          w.uint32(48)
          w.uint32(obj.credit)
        }

        if ((obj.fastPath != null && obj.fastPath !== false)) {
          w.uint32(56)
          w.bool(obj.fastPath)
        }

        if ((obj.cursor != null && obj.cursor !== '')) {
          w.uint32(66)
          w.string(obj.cursor)
        }

        if ((obj.limit != null && obj.limit !== 0)) {
          w.uint32(72)
          w.uint32(obj.limit)
        }

        if (obj.items != null && obj.items.length > 0) {
          for (const value of obj.items) {
            w.uint32(82)
            TransferBatchItem.codec().encode(value, w)
          }
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          version: 0,
          op: Op.GET,
          path: '',
          offset: 0n,
          expectedSha256: '',
          credit: 0,
          fastPath: false,
          cursor: '',
          limit: 0,
          items: []
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
              obj.op = TransferRequest.Op.codec().decode(reader)
              break
            }
            case 3: {
              obj.path = reader.string()
              break
            }
            case 4: {
              obj.offset = reader.uint64()
              break
            }
            case 5: {
              obj.expectedSha256 = reader.string()
              break
            }
            case 6: {
              obj.credit = reader.uint32()
              break
            }
            case 7: {
              obj.fastPath = reader.bool()
              break
            }
            case 8: {
              obj.cursor = reader.string()
              break
            }
            case 9: {
              obj.limit = reader.uint32()
              break
            }
            case 10: {
              if (opts.limits?.items != null && obj.items.length === opts.limits.items) {
                throw new MaxLengthError('Decode error - repeated field "items" had too many elements')
              }

              obj.items.push(TransferBatchItem.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.items$
              }))
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
          items: 0
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
                field: `${prefix}.op`,
                value: TransferRequest.Op.codec().decode(reader)
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.path`,
                value: reader.string()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.offset`,
                value: reader.uint64()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.expectedSha256`,
                value: reader.string()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.credit`,
                value: reader.uint32()
              }
              break
            }
            case 7: {
              yield {
                field: `${prefix}.fastPath`,
                value: reader.bool()
              }
              break
            }
            case 8: {
              yield {
                field: `${prefix}.cursor`,
                value: reader.string()
              }
              break
            }
            case 9: {
              yield {
                field: `${prefix}.limit`,
                value: reader.uint32()
              }
              break
            }
            case 10: {
              if (opts.limits?.items != null && obj.items === opts.limits.items) {
                throw new MaxLengthError('Streaming decode error - repeated field "items" had too many elements')
              }

              for (const evt of TransferBatchItem.codec().stream(reader, reader.uint32(), `${prefix}.items[]`, {
                limits: opts.limits?.items$
              })) {
                yield {
                  ...evt,
                  index: obj.items
                }
              }

              obj.items++

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

  export interface TransferRequestVersionFieldEvent {
    field: '$.version'
    value: number
  }

  export interface TransferRequestOpFieldEvent {
    field: '$.op'
    value: TransferRequest.Op
  }

  export interface TransferRequestPathFieldEvent {
    field: '$.path'
    value: string
  }

  export interface TransferRequestOffsetFieldEvent {
    field: '$.offset'
    value: bigint
  }

  export interface TransferRequestExpectedSha256FieldEvent {
    field: '$.expectedSha256'
    value: string
  }

  export interface TransferRequestCreditFieldEvent {
    field: '$.credit'
    value: number
  }

  export interface TransferRequestFastPathFieldEvent {
    field: '$.fastPath'
    value: boolean
  }

  export interface TransferRequestCursorFieldEvent {
    field: '$.cursor'
    value: string
  }

  export interface TransferRequestLimitFieldEvent {
    field: '$.limit'
    value: number
  }

  export interface TransferRequestItemsPathFieldEvent {
    field: '$.items[].path'
    value: string
    index: number
  }

  export interface TransferRequestItemsExpectedSha256FieldEvent {
    field: '$.items[].expectedSha256'
    value: string
    index: number
  }

  export interface TransferRequestItemsSizeFieldEvent {
    field: '$.items[].size'
    value: bigint
    index: number
  }

  export function encode (obj: Partial<TransferRequest>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, TransferRequest.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TransferRequest>): TransferRequest {
    return decodeMessage(buf, TransferRequest.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TransferRequest>): Generator<TransferRequestVersionFieldEvent | TransferRequestOpFieldEvent | TransferRequestPathFieldEvent | TransferRequestOffsetFieldEvent | TransferRequestExpectedSha256FieldEvent | TransferRequestCreditFieldEvent | TransferRequestFastPathFieldEvent | TransferRequestCursorFieldEvent | TransferRequestLimitFieldEvent | TransferRequestItemsPathFieldEvent | TransferRequestItemsExpectedSha256FieldEvent | TransferRequestItemsSizeFieldEvent> {
    return streamMessage(buf, TransferRequest.codec(), opts)
  }
}

export interface TransferBatchItem {
  path: string
  expectedSha256: string
  size: bigint
}

export namespace TransferBatchItem {
  let _codec: Codec<TransferBatchItem>

  export const codec = (): Codec<TransferBatchItem> => {
    if (_codec == null) {
      _codec = message<TransferBatchItem>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.path != null && obj.path !== '')) {
          w.uint32(10)
          w.string(obj.path)
        }

        if ((obj.expectedSha256 != null && obj.expectedSha256 !== '')) {
          w.uint32(18)
          w.string(obj.expectedSha256)
        }

        if ((obj.size != null && obj.size !== 0n)) {
          w.uint32(24)
          w.uint64(obj.size)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          path: '',
          expectedSha256: '',
          size: 0n
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.path = reader.string()
              break
            }
            case 2: {
              obj.expectedSha256 = reader.string()
              break
            }
            case 3: {
              obj.size = reader.uint64()
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
                field: `${prefix}.path`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.expectedSha256`,
                value: reader.string()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.size`,
                value: reader.uint64()
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

  export interface TransferBatchItemPathFieldEvent {
    field: '$.path'
    value: string
  }

  export interface TransferBatchItemExpectedSha256FieldEvent {
    field: '$.expectedSha256'
    value: string
  }

  export interface TransferBatchItemSizeFieldEvent {
    field: '$.size'
    value: bigint
  }

  export function encode (obj: Partial<TransferBatchItem>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, TransferBatchItem.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TransferBatchItem>): TransferBatchItem {
    return decodeMessage(buf, TransferBatchItem.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TransferBatchItem>): Generator<TransferBatchItemPathFieldEvent | TransferBatchItemExpectedSha256FieldEvent | TransferBatchItemSizeFieldEvent> {
    return streamMessage(buf, TransferBatchItem.codec(), opts)
  }
}

export interface TransferListEntry {
  path: string
  size: bigint
  mtimeMs: bigint
  sha256: string
  kind: string
  config: string
  gameCount: bigint
}

export namespace TransferListEntry {
  let _codec: Codec<TransferListEntry>

  export const codec = (): Codec<TransferListEntry> => {
    if (_codec == null) {
      _codec = message<TransferListEntry>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.path != null && obj.path !== '')) {
          w.uint32(10)
          w.string(obj.path)
        }

        if ((obj.size != null && obj.size !== 0n)) {
          w.uint32(16)
          w.uint64(obj.size)
        }

        if ((obj.mtimeMs != null && obj.mtimeMs !== 0n)) {
          w.uint32(24)
          w.uint64(obj.mtimeMs)
        }

        if ((obj.sha256 != null && obj.sha256 !== '')) {
          w.uint32(34)
          w.string(obj.sha256)
        }

        if ((obj.kind != null && obj.kind !== '')) {
          w.uint32(42)
          w.string(obj.kind)
        }

        if ((obj.config != null && obj.config !== '')) {
          w.uint32(50)
          w.string(obj.config)
        }

        if ((obj.gameCount != null && obj.gameCount !== 0n)) {
          w.uint32(56)
          w.uint64(obj.gameCount)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          path: '',
          size: 0n,
          mtimeMs: 0n,
          sha256: '',
          kind: '',
          config: '',
          gameCount: 0n
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.path = reader.string()
              break
            }
            case 2: {
              obj.size = reader.uint64()
              break
            }
            case 3: {
              obj.mtimeMs = reader.uint64()
              break
            }
            case 4: {
              obj.sha256 = reader.string()
              break
            }
            case 5: {
              obj.kind = reader.string()
              break
            }
            case 6: {
              obj.config = reader.string()
              break
            }
            case 7: {
              obj.gameCount = reader.uint64()
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
                field: `${prefix}.path`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.size`,
                value: reader.uint64()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.mtimeMs`,
                value: reader.uint64()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.sha256`,
                value: reader.string()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.kind`,
                value: reader.string()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.config`,
                value: reader.string()
              }
              break
            }
            case 7: {
              yield {
                field: `${prefix}.gameCount`,
                value: reader.uint64()
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

  export interface TransferListEntryPathFieldEvent {
    field: '$.path'
    value: string
  }

  export interface TransferListEntrySizeFieldEvent {
    field: '$.size'
    value: bigint
  }

  export interface TransferListEntryMtimeMsFieldEvent {
    field: '$.mtimeMs'
    value: bigint
  }

  export interface TransferListEntrySha256FieldEvent {
    field: '$.sha256'
    value: string
  }

  export interface TransferListEntryKindFieldEvent {
    field: '$.kind'
    value: string
  }

  export interface TransferListEntryConfigFieldEvent {
    field: '$.config'
    value: string
  }

  export interface TransferListEntryGameCountFieldEvent {
    field: '$.gameCount'
    value: bigint
  }

  export function encode (obj: Partial<TransferListEntry>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, TransferListEntry.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TransferListEntry>): TransferListEntry {
    return decodeMessage(buf, TransferListEntry.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TransferListEntry>): Generator<TransferListEntryPathFieldEvent | TransferListEntrySizeFieldEvent | TransferListEntryMtimeMsFieldEvent | TransferListEntrySha256FieldEvent | TransferListEntryKindFieldEvent | TransferListEntryConfigFieldEvent | TransferListEntryGameCountFieldEvent> {
    return streamMessage(buf, TransferListEntry.codec(), opts)
  }
}

export interface TransferFrame {
  version: number
  kind: TransferFrame.Kind
  size: bigint
  mtimeMs: bigint
  sha256: string
  offset: bigint
  data: Uint8Array<ArrayBuffer>
  code: TransferFrame.Code
  message: string
  retryAfterMs: number
  entries: TransferListEntry[]
  nextCursor: string
  fastPort: number
  fastToken: Uint8Array<ArrayBuffer>
  fastKey: Uint8Array<ArrayBuffer>
}

export namespace TransferFrame {
  export enum Kind {
    HEADER = 'HEADER',
    CHUNK = 'CHUNK',
    END = 'END',
    ERROR = 'ERROR',
    PAGE = 'PAGE',
    SIDE = 'SIDE',
    SKIP = 'SKIP'
  }

  enum __KindValues {
    HEADER = 0,
    CHUNK = 1,
    END = 2,
    ERROR = 3,
    PAGE = 4,
    SIDE = 5,
    SKIP = 6
  }

  export namespace Kind {
    export const codec = (): Codec<Kind> => {
      return enumeration<Kind>(__KindValues)
    }
  }

  export enum Code {
    NONE = 'NONE',
    NOT_FOUND = 'NOT_FOUND',
    BAD_PATH = 'BAD_PATH',
    BUSY = 'BUSY',
    CHANGED = 'CHANGED',
    BAD_REQUEST = 'BAD_REQUEST',
    INTERNAL = 'INTERNAL'
  }

  enum __CodeValues {
    NONE = 0,
    NOT_FOUND = 1,
    BAD_PATH = 2,
    BUSY = 3,
    CHANGED = 4,
    BAD_REQUEST = 5,
    INTERNAL = 6
  }

  export namespace Code {
    export const codec = (): Codec<Code> => {
      return enumeration<Code>(__CodeValues)
    }
  }

  let _codec: Codec<TransferFrame>

  export const codec = (): Codec<TransferFrame> => {
    if (_codec == null) {
      _codec = message<TransferFrame>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.version != null && obj.version !== 0)) {
          w.uint32(8)
          w.uint32(obj.version)
        }

        if (obj.kind != null && __KindValues[obj.kind] !== 0) {
          w.uint32(16)
          TransferFrame.Kind.codec().encode(obj.kind, w)
        }

        if ((obj.size != null && obj.size !== 0n)) {
          w.uint32(24)
          w.uint64(obj.size)
        }

        if ((obj.mtimeMs != null && obj.mtimeMs !== 0n)) {
          w.uint32(32)
          w.uint64(obj.mtimeMs)
        }

        if ((obj.sha256 != null && obj.sha256 !== '')) {
          w.uint32(42)
          w.string(obj.sha256)
        }

        if ((obj.offset != null && obj.offset !== 0n)) {
          w.uint32(48)
          w.uint64(obj.offset)
        }

        if ((obj.data != null && obj.data.byteLength > 0)) {
          w.uint32(58)
          w.bytes(obj.data)
        }

        if (obj.code != null && __CodeValues[obj.code] !== 0) {
          w.uint32(64)
          TransferFrame.Code.codec().encode(obj.code, w)
        }

        if ((obj.message != null && obj.message !== '')) {
          w.uint32(74)
          w.string(obj.message)
        }

        if ((obj.retryAfterMs != null && obj.retryAfterMs !== 0)) {
          w.uint32(80)
          w.uint32(obj.retryAfterMs)
        }

        if (obj.entries != null && obj.entries.length > 0) {
          for (const value of obj.entries) {
            w.uint32(90)
            TransferListEntry.codec().encode(value, w)
          }
        }

        if ((obj.nextCursor != null && obj.nextCursor !== '')) {
          w.uint32(98)
          w.string(obj.nextCursor)
        }

        if ((obj.fastPort != null && obj.fastPort !== 0)) {
          w.uint32(104)
          w.uint32(obj.fastPort)
        }

        if ((obj.fastToken != null && obj.fastToken.byteLength > 0)) {
          w.uint32(114)
          w.bytes(obj.fastToken)
        }

        if ((obj.fastKey != null && obj.fastKey.byteLength > 0)) {
          w.uint32(122)
          w.bytes(obj.fastKey)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          version: 0,
          kind: Kind.HEADER,
          size: 0n,
          mtimeMs: 0n,
          sha256: '',
          offset: 0n,
          data: uint8ArrayAlloc(0),
          code: Code.NONE,
          message: '',
          retryAfterMs: 0,
          entries: [],
          nextCursor: '',
          fastPort: 0,
          fastToken: uint8ArrayAlloc(0),
          fastKey: uint8ArrayAlloc(0)
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
              obj.kind = TransferFrame.Kind.codec().decode(reader)
              break
            }
            case 3: {
              obj.size = reader.uint64()
              break
            }
            case 4: {
              obj.mtimeMs = reader.uint64()
              break
            }
            case 5: {
              obj.sha256 = reader.string()
              break
            }
            case 6: {
              obj.offset = reader.uint64()
              break
            }
            case 7: {
              obj.data = reader.bytes()
              break
            }
            case 8: {
              obj.code = TransferFrame.Code.codec().decode(reader)
              break
            }
            case 9: {
              obj.message = reader.string()
              break
            }
            case 10: {
              obj.retryAfterMs = reader.uint32()
              break
            }
            case 11: {
              if (opts.limits?.entries != null && obj.entries.length === opts.limits.entries) {
                throw new MaxLengthError('Decode error - repeated field "entries" had too many elements')
              }

              obj.entries.push(TransferListEntry.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.entries$
              }))
              break
            }
            case 12: {
              obj.nextCursor = reader.string()
              break
            }
            case 13: {
              obj.fastPort = reader.uint32()
              break
            }
            case 14: {
              obj.fastToken = reader.bytes()
              break
            }
            case 15: {
              obj.fastKey = reader.bytes()
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
          entries: 0
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
                value: TransferFrame.Kind.codec().decode(reader)
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.size`,
                value: reader.uint64()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.mtimeMs`,
                value: reader.uint64()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.sha256`,
                value: reader.string()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.offset`,
                value: reader.uint64()
              }
              break
            }
            case 7: {
              yield {
                field: `${prefix}.data`,
                value: reader.bytes()
              }
              break
            }
            case 8: {
              yield {
                field: `${prefix}.code`,
                value: TransferFrame.Code.codec().decode(reader)
              }
              break
            }
            case 9: {
              yield {
                field: `${prefix}.message`,
                value: reader.string()
              }
              break
            }
            case 10: {
              yield {
                field: `${prefix}.retryAfterMs`,
                value: reader.uint32()
              }
              break
            }
            case 11: {
              if (opts.limits?.entries != null && obj.entries === opts.limits.entries) {
                throw new MaxLengthError('Streaming decode error - repeated field "entries" had too many elements')
              }

              for (const evt of TransferListEntry.codec().stream(reader, reader.uint32(), `${prefix}.entries[]`, {
                limits: opts.limits?.entries$
              })) {
                yield {
                  ...evt,
                  index: obj.entries
                }
              }

              obj.entries++

              break
            }
            case 12: {
              yield {
                field: `${prefix}.nextCursor`,
                value: reader.string()
              }
              break
            }
            case 13: {
              yield {
                field: `${prefix}.fastPort`,
                value: reader.uint32()
              }
              break
            }
            case 14: {
              yield {
                field: `${prefix}.fastToken`,
                value: reader.bytes()
              }
              break
            }
            case 15: {
              yield {
                field: `${prefix}.fastKey`,
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

  export interface TransferFrameVersionFieldEvent {
    field: '$.version'
    value: number
  }

  export interface TransferFrameKindFieldEvent {
    field: '$.kind'
    value: TransferFrame.Kind
  }

  export interface TransferFrameSizeFieldEvent {
    field: '$.size'
    value: bigint
  }

  export interface TransferFrameMtimeMsFieldEvent {
    field: '$.mtimeMs'
    value: bigint
  }

  export interface TransferFrameSha256FieldEvent {
    field: '$.sha256'
    value: string
  }

  export interface TransferFrameOffsetFieldEvent {
    field: '$.offset'
    value: bigint
  }

  export interface TransferFrameDataFieldEvent {
    field: '$.data'
    value: Uint8Array<ArrayBuffer>
  }

  export interface TransferFrameCodeFieldEvent {
    field: '$.code'
    value: TransferFrame.Code
  }

  export interface TransferFrameMessageFieldEvent {
    field: '$.message'
    value: string
  }

  export interface TransferFrameRetryAfterMsFieldEvent {
    field: '$.retryAfterMs'
    value: number
  }

  export interface TransferFrameEntriesPathFieldEvent {
    field: '$.entries[].path'
    value: string
    index: number
  }

  export interface TransferFrameEntriesSizeFieldEvent {
    field: '$.entries[].size'
    value: bigint
    index: number
  }

  export interface TransferFrameEntriesMtimeMsFieldEvent {
    field: '$.entries[].mtimeMs'
    value: bigint
    index: number
  }

  export interface TransferFrameEntriesSha256FieldEvent {
    field: '$.entries[].sha256'
    value: string
    index: number
  }

  export interface TransferFrameEntriesKindFieldEvent {
    field: '$.entries[].kind'
    value: string
    index: number
  }

  export interface TransferFrameEntriesConfigFieldEvent {
    field: '$.entries[].config'
    value: string
    index: number
  }

  export interface TransferFrameEntriesGameCountFieldEvent {
    field: '$.entries[].gameCount'
    value: bigint
    index: number
  }

  export interface TransferFrameNextCursorFieldEvent {
    field: '$.nextCursor'
    value: string
  }

  export interface TransferFrameFastPortFieldEvent {
    field: '$.fastPort'
    value: number
  }

  export interface TransferFrameFastTokenFieldEvent {
    field: '$.fastToken'
    value: Uint8Array<ArrayBuffer>
  }

  export interface TransferFrameFastKeyFieldEvent {
    field: '$.fastKey'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<TransferFrame>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, TransferFrame.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TransferFrame>): TransferFrame {
    return decodeMessage(buf, TransferFrame.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TransferFrame>): Generator<TransferFrameVersionFieldEvent | TransferFrameKindFieldEvent | TransferFrameSizeFieldEvent | TransferFrameMtimeMsFieldEvent | TransferFrameSha256FieldEvent | TransferFrameOffsetFieldEvent | TransferFrameDataFieldEvent | TransferFrameCodeFieldEvent | TransferFrameMessageFieldEvent | TransferFrameRetryAfterMsFieldEvent | TransferFrameEntriesPathFieldEvent | TransferFrameEntriesSizeFieldEvent | TransferFrameEntriesMtimeMsFieldEvent | TransferFrameEntriesSha256FieldEvent | TransferFrameEntriesKindFieldEvent | TransferFrameEntriesConfigFieldEvent | TransferFrameEntriesGameCountFieldEvent | TransferFrameNextCursorFieldEvent | TransferFrameFastPortFieldEvent | TransferFrameFastTokenFieldEvent | TransferFrameFastKeyFieldEvent> {
    return streamMessage(buf, TransferFrame.codec(), opts)
  }
}
