export { Connection, type Handlers } from './connection.ts'
export { connect, listen, resolveHost, type ConnectOptions, type ListenOptions, type Listener } from './listen.ts'
export { encodeFrame, FRAME_HEADER_BYTES, FrameDecoder, writeFrame } from './framing.ts'
