export { connect, listen, resolveHost } from './listen.ts'
export { encodeFrame, FRAME_HEADER_BYTES, FrameDecoder, writeFrame } from './framing.ts'
export type { Backend, Connection, ConnectOptions, Handlers, Listener, ListenOptions, Protocol, StringEncoding } from './types.ts'
