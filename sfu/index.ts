export { Sfu, type SfuEvents } from './Sfu.ts';
export { Room, type RoomEvents, type RoomOptions } from './Room.ts';
export { Peer, type PeerEvents, type Producer, type Consumer, type Direction } from './Peer.ts';
export { WorkerPool, type PooledWorker, type WorkerPoolOptions } from './WorkerPool.ts';
export { InvalidStateError, NotFoundError, UnavailableError } from './errors.ts';
export { mediaCodecs } from './codecs.ts';
export type { MediaKind, MediaSource, QualityLevel, QualityReport } from './types.ts';
export { WorkerLoad, type WorkerSample } from './placement/WorkerLoad.ts';
