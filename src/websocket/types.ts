/* The types a WebSocket app writes against: one handlers object per server (Bun.serve's `websocket`). */
import type { Request } from '../http/request.ts'
import type { ServerWebSocket } from './server-websocket.ts'

/** What a message arrives as: text as a string, binary as a Buffer. */
export type WebSocketMessage = string | Buffer

/** What `send()` and `publish()` take: text, or bytes. */
export type WebSocketData = string | ArrayBufferView | ArrayBuffer

/**
 * The `websocket` option of `serve()`: the handlers every socket of the server shares (keep per-socket state
 * in `ws.data`, given to `upgrade()`), the subprotocols and origin check of the handshake, compression, and
 * the limits, whose defaults and ranges are in src/limits.ts (`webSocketLimitSpecs`).
 * @example
 * const websocket: WebSocketHandler<{ room: string }> = {
 *   open(ws) { ws.subscribe(ws.data.room) },
 *   message(ws, message) { ws.publish(ws.data.room, message) },
 * }
 */
export interface WebSocketHandler<Data = unknown> {
  /** The socket is open (the 101 is on its way); send and subscribe from here. */
  open?(ws: ServerWebSocket<Data>): void
  /** A whole message. A throw (or rejection) is given to onError and closes the socket with 1011. */
  message(ws: ServerWebSocket<Data>, message: WebSocketMessage): void | Promise<void>
  /**
   * The socket is gone: `code` and `reason` from the peer's close frame (1005 when it had no code), the code
   * the server failed it with (1002, 1007, 1009...), or 1006 when the connection ended without a close frame.
   */
  close?(ws: ServerWebSocket<Data>, code: number, reason: string): void
  /** The socket can take more after `send()` returned -1. */
  drain?(ws: ServerWebSocket<Data>): void
  /** A ping arrived (the pong is sent for you). */
  ping?(ws: ServerWebSocket<Data>, data: Buffer): void
  pong?(ws: ServerWebSocket<Data>, data: Buffer): void
  /** Offer permessage-deflate (RFC 7692) to clients that ask. Default false. */
  perMessageDeflate?: boolean
  /**
   * The subprotocols the server speaks: the first one the client lists that is here is chosen, or a function
   * that picks one of `offered` (or none).
   */
  protocols?: readonly string[] | ((offered: string[], request: Request) => string | undefined)
  /** Says whether a handshake's Origin is welcome (false: 403). Default: every origin. */
  origin?: (origin: string | undefined, request: Request) => boolean
  /** Ping a socket that has been quiet for half of idleTimeoutMs. Default true. */
  sendPings?: boolean
  /** See webSocketLimitSpecs in src/limits.ts for each limit's default and range. */
  messageBytesMax?: number
  frameBytesMax?: number
  backpressureBytesMax?: number
  idleTimeoutMs?: number
  closeTimeoutMs?: number
  compressBytesMin?: number
}
