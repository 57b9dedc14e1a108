/* The types a WebSocket app writes against: one handlers object per server (Bun.serve's `websocket`). */
import type { Request } from '../http/request.ts'

/**
 * A WebSocket the server accepted, as its handlers see it (one object per socket, made by the upgrade).
 * @example
 * websocket: { message(ws, message) { ws.send(message) } }
 */
export interface ServerWebSocket<Data = unknown> {
  /** What `upgrade({ data })` gave. */
  data: Data
  /** The subprotocol chosen in the handshake ('' for none). */
  readonly protocol: string
  /** The Sec-WebSocket-Extensions the server answered ('' for none). */
  readonly extensions: string
  /** 1 open, 2 closing, 3 closed (WebSocket.readyState's values). */
  readonly readyState: 1 | 2 | 3
  /** The peer's address, kept after the connection is gone. */
  readonly remoteAddress: string
  /** Bytes queued and not yet taken by the kernel. */
  getBufferedAmount(): number
  /**
   * Sends a message: text for a string, binary for bytes; compressed when permessage-deflate was agreed, the
   * message is at least compressBytesMin long, and `compress` is not false.
   * @returns the bytes queued; -1 when queued past the high-water mark (wait for `drain`); 0 when dropped
   *   (the socket is closing, or more than backpressureBytesMax is already queued)
   */
  send(data: WebSocketData, compress?: boolean): number
  sendText(text: string, compress?: boolean): number
  sendBinary(data: ArrayBufferView | ArrayBuffer, compress?: boolean): number
  /** Sends a ping (at most 125 bytes of payload). */
  ping(data?: WebSocketData): number
  pong(data?: WebSocketData): number
  /**
   * Starts the close handshake: sends a close frame with `code` (1000, or 3000-4999 of the app's own) and
   * `reason` (at most 123 bytes of UTF-8), then waits closeTimeoutMs for the peer's.
   */
  close(code?: number, reason?: string): void
  /** Drops the connection at once, without a close handshake (the close handler gets 1006). */
  terminate(): void
  /** Runs `callback`; what it sends leaves in one write (as every send of one read or tick already does). */
  cork<T>(callback: (ws: this) => T): T
  subscribe(topic: string): void
  unsubscribe(topic: string): void
  isSubscribed(topic: string): boolean
  /** The topics this socket is subscribed to. */
  readonly subscriptions: string[]
  /**
   * Sends a message to every socket subscribed to `topic` but this one, framed (and compressed) once.
   * @returns the number of sockets it was queued for
   */
  publish(topic: string, data: WebSocketData, compress?: boolean): number
}

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
