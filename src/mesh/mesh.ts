/**
 * The network as the rest of riftmesh sees it: topics to publish and subscribe, request/response
 * streams of length-prefixed frames, and peer connect/disconnect events. `Libp2pMesh` is the real
 * one; the simulator's `SimMesh` implements the same interface on a virtual network.
 */

export interface MeshMessage {
  topic: string
  /** The sender's node id (for signed gossip: the verified signer). */
  from: string
  data: Uint8Array
}

/** A bidirectional stream of frames (each frame one length-prefixed message). */
export interface FrameStream {
  /** The next frame, or undefined when the remote closed its side. Throws on reset, timeout or an oversized frame. */
  read(options?: { signal?: AbortSignal }): Promise<Uint8Array | undefined>
  write(frame: Uint8Array, options?: { signal?: AbortSignal }): Promise<void>
  /** Close our side for writing (the remote reads end-of-stream). */
  close(options?: { signal?: AbortSignal }): Promise<void>
  /** Reset the stream in both directions. */
  abort(err: Error): void
}

export type StreamHandler = (stream: FrameStream, peer: string) => Promise<void>

export interface HandleOptions {
  /** Largest frame accepted on this protocol, in bytes. */
  maxFrameBytes: number
  /** Most concurrent inbound streams per connection. @default 8 */
  maxInboundStreams?: number
}

export interface OpenOptions {
  maxFrameBytes: number
  signal?: AbortSignal
}

export type PeerEvent = 'connect' | 'disconnect'

/** Why this node hung up on a peer: the peer cannot be part of this mesh. */
export interface HangUpReason {
  /** `cluster-name`: the peer's sync STEP1 named another `node.clusterName`. */
  cause: 'cluster-name'
  /** What was seen, for logs and status (e.g. both cluster names). */
  detail: string
}

export interface Mesh {
  /** This node's id (libp2p PeerId as a string). */
  readonly selfId: string
  subscribe(topic: string, handler: (msg: MeshMessage) => void): () => void
  /** Send to every subscriber of `topic` reachable now; resolves once handed to the network. */
  publish(topic: string, data: Uint8Array): Promise<void>
  handle(protocol: string, handler: StreamHandler, options: HandleOptions): Promise<void>
  open(peer: string, protocol: string, options: OpenOptions): Promise<FrameStream>
  /** Ids of peers with an open connection. */
  connectedPeers(): string[]
  onPeer(event: PeerEvent, listener: (peer: string) => void): () => void
  /**
   * Close every connection to `peer` because it does not belong in this mesh. Optional: a mesh
   * without connections of its own (the simulator's) leaves it out, and nothing is closed.
   */
  hangUp?(peer: string, reason: HangUpReason): Promise<void>
}
