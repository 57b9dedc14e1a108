export {
  BridgeError, ChannelBusyError, ChannelClosedError, ChannelIncompatibleError, ChannelInUseError, ChannelNotFoundError,
  ChannelTimeoutError, ConnectError, FileChangedError, FrameError, HostNotFoundError, HttpError, KoffiMissingError,
  ListenError, NodeTooOldError, NotAFolderError, PathNotFoundError, PathRefusedError, PeerGoneError, SystemCallError,
  ThreadError, WirespeedError, WorkerExitedError, type ErrorCode, type HttpErrorCode,
} from './errors.ts'
export { defaultLimits, resolveLimits, type Limits } from './limits.ts'
export { Connection, connect, encodeFrame, FrameDecoder, listen, writeFrame, type ConnectOptions, type Handlers, type ListenOptions, type Listener } from './tcp/index.ts'
export { Request, Response, serve, StaticFiles, type Handler, type ServeOptions, type Server, type StaticOptions } from './http/index.ts'
export { watch, type Change, type ChangeType, type WatchOptions } from './watch/index.ts'
export { spawn, type SpawnOptions, type Thread } from './thread/index.ts'
export { Channel, openChannel, Ring, ringBytes, type ChannelOptions } from './shm/index.ts'
