/*
 * One WebSocket, server side (what handlers see as a ServerWebSocket): the Protocol its connection hands
 * events to after the 101 (src/tcp/protocol.ts)
 * and the sink of its FrameReader. It holds no closure and no timer: the handlers are the server's, shared,
 * and the HTTP server's sweep calls `checkDeadline()` for the idle ping, the idle close, the close handshake's
 * timeout and the send timeout.
 *
 * Closing (RFC 6455 §7): `close()` sends a close frame and waits closeTimeoutMs for the peer's; a peer's close
 * frame is answered with the same code; a protocol failure sends its code (1002, 1007, 1009) at once. In every
 * case the server then ends the TCP connection first (§7.1.1) and, if the peer does not finish, drops it when
 * closeTimeoutMs has passed. `handler.close` runs once, when the connection is gone.
 *
 * Sending: one frame per message, built with its head in one Buffer. Past backpressureBytesMax queued, a
 * message is dropped and send() says so (0); past the connection's high-water mark it is queued and send()
 * says -1 (wait for `drain`). A peer that stops reading is cut by the HTTP server's sendTimeoutMs, nothing
 * sooner: while it takes bytes, however slowly, it is not idle.
 */
import { SendProgress } from '../tcp/send-progress.ts'
import type { Connection, Protocol } from '../tcp/types.ts'
import { compressMessage } from './deflate.ts'
import { FrameReader, type FrameSink } from './frame-reader.ts'
import { bytesOf, CloseCode, encodeClose, encodeFrame, isValidCloseCode, Opcode } from './frames.ts'
import type { Subscriber, Topics } from './topics.ts'
import type { ServerWebSocket, WebSocketData, WebSocketHandler } from './types.ts'

/** The limits of one server's sockets (src/limits.ts, webSocketLimitSpecs). */
export interface WebSocketLimits {
  readonly messageBytesMax: number
  readonly frameBytesMax: number
  readonly backpressureBytesMax: number
  readonly idleTimeoutMs: number
  readonly closeTimeoutMs: number
  readonly compressBytesMin: number
}

/** What every socket of one server shares. @internal */
export interface SocketContext {
  readonly handler: WebSocketHandler<any>
  readonly limits: WebSocketLimits
  readonly sendPings: boolean
  /** The HTTP server's: a peer that takes no byte for this long is dropped. */
  readonly sendTimeoutMs: number
  readonly topics: Topics
  onError(error: unknown): void
}

/** Bun's readyState values. */
const State = { open: 1, closing: 2, closed: 3 } as const
type State = (typeof State)[keyof typeof State]

const NO_TOPICS: ReadonlySet<string> = new Set()

/**
 * The socket behind a ServerWebSocket: one object per socket, the Protocol of its connection and the sink
 * of its reader; the handlers see it through the ServerWebSocket interface only. @internal
 */
export class WebSocketProtocol<Data = unknown> implements ServerWebSocket<Data>, Protocol, FrameSink, Subscriber {
  data: Data
  readonly protocol: string
  readonly extensions: string
  /** permessage-deflate's window bits when agreed, else 0. */
  readonly deflateBits: number
  readonly #connection: Connection<Protocol>
  readonly #context: SocketContext
  readonly #reader: FrameReader
  readonly #remoteAddress: string
  #state: State = State.open
  #closeSent = false
  #closeCode: number = CloseCode.abnormal
  #closeReason = ''
  #closeDeadline = 0
  #received = false
  #quietSince = 0
  #pinged = false
  readonly #sendProgress: SendProgress
  #topics: Set<string> | null = null

  /** @internal made by the upgrade, once the handshake is accepted. */
  constructor(connection: Connection<Protocol>, context: SocketContext, data: Data, protocol: string, extensions: string, deflateBits: number, now: number) {
    this.#connection = connection
    this.#context = context
    this.data = data
    this.protocol = protocol
    this.extensions = extensions
    this.deflateBits = deflateBits
    this.#remoteAddress = connection.remoteAddress ?? ''
    this.#quietSince = now
    this.#sendProgress = new SendProgress(now)
    this.#reader = new FrameReader(this, context.limits, deflateBits !== 0)
  }

  get readyState(): State {
    return this.#state
  }
  get remoteAddress(): string {
    return this.#remoteAddress
  }
  getBufferedAmount(): number {
    return this.#connection.bufferedBytes
  }

  send(data: WebSocketData, compress = true): number {
    const payload = bytesOf(data)
    return this.#sendMessage(typeof payload === 'string' ? Opcode.text : Opcode.binary, payload, compress)
  }
  sendText(text: string, compress = true): number {
    return this.#sendMessage(Opcode.text, String(text), compress)
  }
  sendBinary(data: ArrayBufferView | ArrayBuffer, compress = true): number {
    const payload = bytesOf(data)
    if (typeof payload === 'string') throw new TypeError('Invalid message: sendBinary takes bytes')
    return this.#sendMessage(Opcode.binary, payload, compress)
  }

  ping(data: WebSocketData = ''): number {
    return this.#sendControl(Opcode.ping, data)
  }
  pong(data: WebSocketData = ''): number {
    return this.#sendControl(Opcode.pong, data)
  }

  close(code: number = CloseCode.normal, reason = ''): void {
    if (!Number.isInteger(code) || !isValidCloseCode(code)) throw new RangeError(`Invalid close code ${code}: expected 1000-1003, 1007-1014 or 3000-4999`)
    if (Buffer.byteLength(reason) > 123) throw new RangeError(`Invalid close reason: ${Buffer.byteLength(reason)} bytes of UTF-8, at most 123 fit in a close frame`)
    if (this.#state !== State.open) return
    this.#sendClose(code, reason)
  }

  terminate(): void {
    this.#connection.destroy()
  }

  cork<T>(callback: (ws: this) => T): T {
    const result = callback(this)
    this.#connection.flush()
    return result
  }

  subscribe(topic: string): void {
    if (this.#state === State.closed) return
    ;(this.#topics ??= new Set()).add(topic)
    this.#context.topics.subscribe(topic, this)
  }
  unsubscribe(topic: string): void {
    if (this.#topics?.delete(topic)) this.#context.topics.unsubscribe(topic, this)
  }
  isSubscribed(topic: string): boolean {
    return this.#topics?.has(topic) ?? false
  }
  get subscriptions(): string[] {
    return [...(this.#topics ?? NO_TOPICS)]
  }
  publish(topic: string, data: WebSocketData, compress = true): number {
    return this.#context.topics.publish(topic, bytesOf(data), compress, this)
  }

  /** @internal a published frame. */
  deliverFrame(frame: Buffer): boolean {
    if (this.#state !== State.open || this.#connection.bufferedBytes > this.#context.limits.backpressureBytesMax) return false
    this.#connection.write(frame)
    return true
  }

  /** @internal the 101 is queued: the socket is open. */
  opened(): void {
    const open = this.#context.handler.open
    if (open === undefined) return
    try {
      open(this)
    } catch (error) {
      this.#handlerFailed(error)
    }
  }

  // Protocol
  onData(bytes: Buffer): void {
    this.#received = true
    if (!this.#reader.stopped) this.#reader.feed(bytes)
  }

  onDrain(): void {
    const drain = this.#context.handler.drain
    if (drain === undefined || this.#state !== State.open) return
    try {
      drain(this)
    } catch (error) {
      this.#handlerFailed(error)
    }
  }

  /** The peer sent FIN: whatever it said (or did not), the conversation is over. */
  onEnd(): void {
    if (this.#state === State.open) this.#state = State.closing
    this.#connection.end()
  }

  onClose(): void {
    if (this.#state === State.closed) return
    this.#state = State.closed
    const topics = this.#topics
    if (topics !== null) for (const topic of topics) this.#context.topics.unsubscribe(topic, this)
    this.#topics = null
    const close = this.#context.handler.close
    if (close === undefined) return
    try {
      close(this, this.#closeCode, this.#closeReason)
    } catch (error) {
      this.#context.onError(error)
    }
  }

  checkDeadline(now: number): void {
    const connection = this.#connection
    const limits = this.#context.limits
    if (this.#sendProgress.stalled(connection, now, this.#context.sendTimeoutMs)) return connection.destroy()
    // A socket that owes bytes is not idle: the send timeout alone judges a peer that stops reading.
    if (connection.bufferedBytes > 0) this.#quietSince = now
    if (this.#received) {
      this.#received = false
      this.#pinged = false
      this.#quietSince = now
    }
    if (this.#state !== State.open) {
      if (now >= this.#closeDeadline) connection.destroy()
      return
    }
    const idleMs = limits.idleTimeoutMs
    if (idleMs === 0) return
    const quietMs = now - this.#quietSince
    if (quietMs >= idleMs) {
      this.#sendClose(CloseCode.goingAway, 'Idle timeout')
      this.#closeDeadline = now + limits.closeTimeoutMs
    } else if (quietMs >= idleMs / 2 && !this.#pinged && this.#context.sendPings) {
      this.#pinged = true
      connection.write(encodeFrame(Opcode.ping, ''))
    }
  }

  /** The server is closing: say so (1001) and let the peer answer. */
  shutdown(): void {
    if (this.#state === State.open) this.#sendClose(CloseCode.goingAway, 'Server shutting down')
  }

  // FrameSink
  onText(text: string): void {
    this.#deliver(text)
  }
  onBinary(bytes: Buffer): void {
    this.#deliver(bytes)
  }
  onPing(payload: Buffer): void {
    if (this.#state === State.open) this.#connection.write(encodeFrame(Opcode.pong, payload))
    const ping = this.#context.handler.ping
    if (ping !== undefined) this.#call(ping, payload)
  }
  onPong(payload: Buffer): void {
    const pong = this.#context.handler.pong
    if (pong !== undefined) this.#call(pong, payload)
  }
  onCloseFrame(code: number, reason: string): void {
    this.#closeCode = code
    this.#closeReason = reason
    // RFC 6455 §5.5.1: answer with a close frame (the same code), unless ours already went; then the server
    // ends the TCP connection first (§7.1.1).
    if (!this.#closeSent) {
      this.#closeSent = true
      this.#connection.write(encodeClose(code === CloseCode.noStatus ? undefined : code, ''))
    }
    this.#closing()
    this.#connection.end()
  }
  onFail(code: number, reason: string): void {
    this.#closeCode = code
    this.#closeReason = reason
    if (!this.#closeSent) {
      this.#closeSent = true
      this.#connection.write(encodeClose(code, truncateReason(reason)))
    }
    this.#closing()
    this.#connection.end()
  }

  #deliver(message: string | Buffer): void {
    if (this.#state !== State.open) return // RFC 6455 §1.4: after our close frame, data is discarded
    try {
      const result = this.#context.handler.message(this, message)
      if (result !== undefined && typeof result.then === 'function') result.then(undefined, (error: unknown) => this.#handlerFailed(error))
    } catch (error) {
      this.#handlerFailed(error)
    }
  }

  #call(handler: (ws: this, data: Buffer) => void, payload: Buffer): void {
    try {
      handler(this, payload)
    } catch (error) {
      this.#handlerFailed(error)
    }
  }

  #handlerFailed(error: unknown): void {
    this.#context.onError(error)
    if (this.#state === State.open) this.#sendClose(CloseCode.internalError, 'Internal error')
  }

  #sendMessage(opcode: number, payload: string | Uint8Array, compress: boolean): number {
    const connection = this.#connection
    if (this.#state !== State.open || connection.bufferedBytes > this.#context.limits.backpressureBytesMax) return 0
    const bits = this.deflateBits
    const length = typeof payload === 'string' ? payload.length : payload.byteLength
    const frame = compress && bits !== 0 && length >= this.#context.limits.compressBytesMin
      ? encodeFrame(opcode, compressMessage(payload, bits), true)
      : encodeFrame(opcode, payload)
    return connection.write(frame) ? frame.length : -1
  }

  #sendControl(opcode: number, data: WebSocketData): number {
    const payload = bytesOf(data)
    const length = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.byteLength
    if (length > 125) throw new RangeError(`Invalid ${opcode === Opcode.ping ? 'ping' : 'pong'} payload of ${length} bytes: at most 125 (RFC 6455 §5.5)`)
    if (this.#state !== State.open) return 0
    const frame = encodeFrame(opcode, payload)
    return this.#connection.write(frame) ? frame.length : -1
  }

  #sendClose(code: number, reason: string): void {
    this.#closeSent = true
    this.#closeCode = code
    this.#closeReason = reason
    this.#connection.write(encodeClose(code, reason))
    this.#closing()
  }

  #closing(): void {
    if (this.#state === State.open) this.#state = State.closing
    this.#closeDeadline = Date.now() + this.#context.limits.closeTimeoutMs
  }
}

/** A reason cut to the 123 bytes a close frame holds, on a character boundary. */
function truncateReason(reason: string): string {
  if (Buffer.byteLength(reason) <= 123) return reason
  let cut = reason.slice(0, 123)
  while (Buffer.byteLength(cut) > 123) cut = cut.slice(0, -1)
  return cut
}
