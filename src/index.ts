export {
  BridgeError, ChannelBusyError, ChannelClosedError, ChannelIncompatibleError, ChannelInUseError, ChannelNotFoundError,
  ChannelTimeoutError, ConnectError, FileChangedError, FrameError, HostNotFoundError, HttpError, KoffiMissingError,
  ListenError, NodeTooOldError, RouteError, NotAFolderError, PathNotFoundError, PathRefusedError, PeerGoneError, SystemCallError,
  ThreadError, UsageError, WirespeedError, WorkerExitedError, type ErrorCode, type HttpErrorCode,
} from './errors.ts'
export { defaultLimits, resolveLimits, webSocketLimitSpecs, type Limits } from './limits.ts'
export { connect, encodeFrame, FrameDecoder, listen, writeFrame, type Backend, type Connection, type ConnectOptions, type Handlers, type ListenOptions, type Listener, type Protocol } from './tcp/index.ts'
export { Request, Response, type ErrorHandler, type Handler, type UpgradeOptions } from './http/index.ts'
export { Router, type FetchHandler, type FetchServer, type WebUpgradeOptions, type RouteHandler, type RouteMatch, type RouteMethod, type RouteParams, type Routes, type RouteValue, type SocketAddress } from './app/index.ts'
export { StaticFiles, readSiteConfig, siteConfig, type HeaderRule, type Redirect, type Rewrite, type StaticOptions } from './static/index.ts'
export { CloseCode, type ServerWebSocket, type WebSocketData, type WebSocketHandler, type WebSocketLimits, type WebSocketMessage } from './websocket/index.ts'
export { serve, type OneLoopServeOptions, type ServeOptions, type Server, type WorkersServeOptions } from './serve/index.ts'
export { watch, type Change, type ChangeType, type WatchOptions } from './watch/index.ts'
export { spawn, type SpawnOptions, type Thread } from './thread/index.ts'
export {
  openChannel, Ring, RingChannel, ringBytes, type Channel, type ChannelOptions, type ProcessChannelOptions, type TcpChannelOptions, type ThreadChannelOptions,
  type ThreadPeerChannelOptions,
} from './shm/index.ts'
