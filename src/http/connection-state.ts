/*
 * The HTTP/1.1 state of one connection: the loop that turns bytes into requests, keeps replies in order,
 * and enforces the per-connection limits and timeouts.
 *
 * One read is handled in one pass (`onData`): every complete request in it is parsed and its handler is
 * called before the pass ends, so every reply produced synchronously leaves in one socket write (the TCP
 * layer batches). Replies leave in request order: `#queue` holds the replies not yet sent, oldest first; only
 * the oldest writes to the socket, the others buffer until `#advance()` activates them.
 *
 * Bytes are not copied on the fast path: a read that ends exactly at a request boundary is parsed in place,
 * and requests keep views of it. Only unfinished bytes (a request split across reads) are copied, into a
 * buffer owned by this connection that grows by doubling. It only ever holds bytes not yet consumed, from
 * offset 0; once a request is cut from it, the rest moves to a fresh buffer, so it is never written again
 * while a request points into it.
 *
 * Limits: at most `pipelineDepthMax` replies outstanding (then reading pauses until they leave); one
 * deadline at a time, checked by the server's sweep (`checkDeadline`): idle between requests, headers from a
 * request's first byte, body from the end of its head, linger after we end the connection; and a send
 * timeout while the peer does not read our replies.
 *
 * Errors: bad input becomes an error reply queued after the replies already owed, then the connection
 * closes (RFC 9112 §11.2: once framing is in doubt, nothing more on the connection can be trusted).
 */
import { HttpError } from '../errors.ts'
import { defaultLimits, type Limits } from '../limits.ts'
import { handOff } from '../tcp/protocol.ts'
import { SendProgress } from '../tcp/send-progress.ts'
import type { Connection, Protocol } from '../tcp/types.ts'
import { BodyDecoder } from './body-decoder.ts'
import { RequestParser } from './parser.ts'
import { Request, type RequestOwner } from './request.ts'
import { Response, type ResponseOwner, type Upgrader } from './response.ts'
import type { Handler } from './types.ts'


/** What every connection of one server shares. */
export interface ServerContext {
  readonly limits: Limits
  readonly handler: Handler
  /** Counted for the live status line: plain increments, nothing else on the request path. */
  readonly counters: { requests: number; bytesOut: number }
  onError(error: unknown, request: Request | undefined): void
  /** The WebSocket upgrade `response.upgrade()` calls, when the server has one. */
  readonly upgrader: Upgrader | undefined
}

const Deadline = { none: 0, idle: 1, headers: 2, body: 3, linger: 4 } as const
type Deadline = (typeof Deadline)[keyof typeof Deadline]

function resumeParsingOf(state: ConnectionState): void {
  state.resumeParsing()
}

const CONTINUE = 'HTTP/1.1 100 Continue\r\n\r\n'
const NOTHING = Buffer.alloc(0)
const MIN_OWNED_BYTES = 4096

/**
 * The request of an error reply to bytes that never became a request: a real Request over no bytes (no
 * method, no fields, no body). Its reply closes the connection (sendError says so).
 */
const NO_REQUEST = new Request(Buffer.alloc(0), 0, new RequestParser(defaultLimits), { continueRequested() {}, remoteAddress: undefined, remotePort: undefined })

export class ConnectionState implements Protocol, RequestOwner, ResponseOwner {
  now: number
  readonly #connection: Connection<Protocol>
  readonly #context: ServerContext
  readonly #limits: Limits
  readonly #parser: RequestParser
  readonly #decoder: BodyDecoder
  readonly #queue: Response[] = []
  #bodyRequest: Request | null = null
  #bodyResponse: Response | null = null
  #continuePending: Request<unknown> | null = null
  #owned: Buffer | null = null
  #ownedLength = 0
  #deadline = 0
  #deadlineKind: Deadline = Deadline.none
  readonly #sendProgress: SendProgress
  #drainWaiters: (() => void)[] | null = null
  /** No further request is parsed (Connection: close, an error, the peer's FIN, or shutdown). */
  #stopParsing = false
  /** Parsing waits for replies to leave (pipelineDepthMax reached). */
  #parsePaused = false
  #peerEnded = false
  /** Inside #process: a reply ending now must not start a nested pass over the same bytes. */
  #processing = false
  #ended = false
  #shuttingDown = false
  /**
   * The reply to a request that asks to switch protocols (Connection: upgrade) while its handler decides:
   * the bytes after it are the next request or the new protocol's, so parsing waits for that reply.
   */
  #upgradeCandidate: Response | null = null
  /** The protocol a reply switched to during this read's processing: the rest of the read is its. */
  #switchTo: Protocol | null = null

  constructor(connection: Connection<Protocol>, context: ServerContext) {
    this.#connection = connection
    this.#context = context
    this.#limits = context.limits
    this.#parser = new RequestParser(context.limits)
    this.#decoder = new BodyDecoder(context.limits)
    this.now = Date.now()
    this.#sendProgress = new SendProgress(this.now)
    this.#setDeadline(Deadline.idle, this.#limits.idleTimeoutMs)
  }

  closesAfter(response: Response): boolean {
    return this.#stopParsing && this.#queue[this.#queue.length - 1] === response
  }
  get writeBlocked(): boolean {
    return this.#connection.writeBlocked
  }
  get connectionClosed(): boolean {
    return this.#connection.closed
  }
  /** Replies owed on this connection. */
  get pending(): number {
    return this.#queue.length
  }

  onData(bytes: Buffer): void {
    this.now = Date.now()
    if (this.#stopParsing && this.#bodyRequest === null) return // draining what the peer still sends
    const buffer = this.#owned === null ? bytes : this.#append(bytes)
    this.#keepOrHandOff(buffer, this.#process(buffer))
  }

  /** Keeps the unconsumed bytes, or gives them to the protocol a reply switched to in the meantime. */
  #keepOrHandOff(buffer: Buffer, position: number): void {
    const next = this.#switchTo
    if (next === null) return this.#keep(buffer, position)
    this.#switchTo = null
    this.#owned = null
    this.#ownedLength = 0
    handOff(this.#connection, next, buffer.subarray(position))
  }

  onDrain(): void {
    this.#wakeDrainWaiters()
    this.resumeParsing()
    if (this.#queue.length === 0 && !this.#parsePaused && !this.#ended && this.#owned === null) this.#afterLastReply()
  }

  onEnd(): void {
    this.#peerEnded = true
    this.#stopParsing = true
    // The peer sent its FIN: replies still owed are sent if they come (half-close), but handlers that watch
    // for the client going away are told now (a fetch handler's request.signal), as node:http does.
    const queue = this.#queue
    for (let index = 0; index < queue.length; index++) if (!queue[index]!.finished) queue[index]!.request.abort()
    if (this.#bodyRequest !== null) {
      this.#fail(new HttpError(400, 'INCOMPLETE_BODY', 'The connection ended before the body was complete'))
    } else if (this.#queue.length === 0) {
      this.#end()
    }
  }

  onClose(): void {
    this.#stopParsing = true
    this.#deadlineKind = Deadline.none
    this.#owned = null
    this.#bodyRequest?.failBody(new HttpError(400, 'CONNECTION_CLOSED', 'The connection closed before the body was complete'))
    this.#bodyRequest = null
    const queue = this.#queue
    for (let index = 0; index < queue.length; index++) queue[index]!.request.abort()
    queue.length = 0
    this.#wakeDrainWaiters()
  }

  /**
   * Graceful shutdown: take no new request, finish the replies owed, then close. A connection that owes
   * nothing closes at once, and one that finishes later closes as soon as its last byte has left: a peer
   * that keeps its side open is not waited for.
   */
  shutdown(): void {
    this.#stopParsing = true
    this.#shuttingDown = true
    if (this.#queue.length !== 0) return
    if (this.#bodyRequest === null && this.#connection.bufferedBytes === 0) return this.#connection.destroy()
    this.#end()
  }

  /** Refuses the connection with an error reply (too many connections). */
  refuse(error: HttpError): void {
    this.#fail(error)
  }

  /**
   * Called by the server's sweep: acts on a passed deadline or a peer that stopped reading. While replies
   * are still buffered the connection is not idle: the idle and linger deadlines count from when the last
   * byte left, and what ends a connection that owes bytes is `sendTimeoutMs` without progress (no byte taken
   * by the peer for that long), however long the delivery takes.
   */
  checkDeadline(now: number): void {
    this.now = now
    const connection = this.#connection
    if (this.#sendProgress.stalled(connection, now, this.#limits.sendTimeoutMs)) return connection.destroy()
    if (connection.bufferedBytes > 0 && (this.#deadlineKind === Deadline.idle || this.#deadlineKind === Deadline.linger)) {
      if (!this.#shuttingDown) this.#deadline = now + this.#limits.idleTimeoutMs
      return
    }
    if (this.#deadlineKind === Deadline.none || now < this.#deadline) return
    switch (this.#deadlineKind) {
      case Deadline.headers:
        return this.#fail(new HttpError(408, 'HEADERS_TIMEOUT', `Headers not received within headersTimeoutMs (${this.#limits.headersTimeoutMs} ms)`))
      case Deadline.body:
        return this.#fail(new HttpError(408, 'BODY_TIMEOUT', `Body not received within bodyTimeoutMs (${this.#limits.bodyTimeoutMs} ms)`))
      default:
        this.#deadlineKind = Deadline.none
        return connection.destroy()
    }
  }

  // RequestOwner
  get remoteAddress(): string | undefined {
    return this.#connection.remoteAddress
  }
  get remotePort(): number | undefined {
    return this.#connection.remotePort
  }
  continueRequested(request: Request<unknown>): void {
    const active = this.#queue[0]
    if (active !== undefined && active.request === request) {
      if (!active.headersSent) this.#connection.write(CONTINUE)
    } else {
      this.#continuePending = request
    }
  }

  // ResponseOwner
  get upgrader(): Upgrader | undefined {
    return this.#context.upgrader
  }

  /**
   * A reply switches the connection to another protocol (RFC 9110 §15.2.2): only the oldest, for a request
   * without a body, while the connection is open and not shutting down. From here on this state gets no
   * event: the next protocol gets the bytes after the request, whether this read still holds them or they
   * wait in the owned buffer (the handler upgraded after an await).
   */
  switchProtocols(response: Response, head: string, start: (connection: Connection<Protocol>) => Protocol): boolean {
    const connection = this.#connection
    if (this.#queue[0] !== response || response.request.hasBody || this.#bodyRequest !== null) return false
    if (connection.closed || this.#ended || this.#shuttingDown || this.#peerEnded) return false
    this.#queue.length = 0
    this.#upgradeCandidate = null
    this.#stopParsing = true
    this.#deadlineKind = Deadline.none
    this.write(head)
    this.#switchTo = start(connection)
    // Inside a read's processing, onData hands off what that read has left; otherwise it is done now.
    if (!this.#processing) this.#keepOrHandOff(this.#owned === null ? NOTHING : this.#owned.subarray(0, this.#ownedLength), 0)
    return true
  }

  isActive(response: Response): boolean {
    return this.#queue[0] === response
  }
  write(bytes: string | Uint8Array): boolean {
    this.#context.counters.bytesOut += bytes.length
    return this.#connection.write(bytes)
  }
  get canSendFile(): boolean {
    return this.#connection.sendFile !== undefined && !this.#connection.closed
  }
  sendFile(fd: number, position: number, length: number, done: (complete: boolean) => void): void {
    this.#context.counters.bytesOut += length
    this.#connection.sendFile!(fd, position, length, done)
  }
  responseEnded(response: Response): void {
    if (response === this.#upgradeCandidate) this.#upgradeCandidate = null
    if (response === this.#bodyResponse && !response.request.bodyComplete) response.request.discardBody()
    if (this.#queue[0] === response) this.#advance()
  }
  waitForDrain(response: Response): Promise<void> {
    // The oldest reply waits only while the connection is backed up, and then a drain is sure to come.
    if (this.#connection.closed || (this.#queue[0] === response && !this.#connection.owesDrain())) {
      return Promise.resolve()
    }
    return new Promise((resolve) => (this.#drainWaiters ??= []).push(resolve))
  }

  /** Parses and dispatches what `buffer` holds. @returns the offset of the first byte not consumed */
  #process(buffer: Buffer): number {
    let position = 0
    this.#processing = true
    try {
      while (position < buffer.length) {
        if (this.#bodyRequest !== null) {
          position = this.#decoder.decode(buffer, position, this.#bodyRequest)
          if (!this.#decoder.done) break
          this.#finishBody()
          continue
        }
        if (this.#switchTo !== null) break
        if (this.#upgradeCandidate !== null) {
          this.#parsePaused = true
          break
        }
        if (this.#stopParsing) return buffer.length
        // Throttle: too many replies owed, or replies not leaving (a peer that sends without reading).
        if (this.#queue.length >= this.#limits.pipelineDepthMax || this.#connection.bufferedBytes >= this.#limits.writeBufferBytesHigh) {
          this.#parsePaused = true
          this.#connection.pause()
          // The batch leaves when this read's handling ends; if the kernel takes it all, no drain follows.
          setImmediate(resumeParsingOf, this)
          break
        }
        const length = this.#parser.parse(buffer, position)
        if (length === 0) {
          if (this.#deadlineKind !== Deadline.headers && this.#parser.started) {
            this.#setDeadline(Deadline.headers, this.#limits.headersTimeoutMs)
          }
          break
        }
        position = this.#dispatch(buffer, position, length)
      }
    } catch (error) {
      if (error instanceof HttpError) this.#fail(error)
      else {
        this.#context.onError(error, undefined)
        this.#fail(new HttpError(500, 'INTERNAL', 'Internal error while reading the request'))
      }
      return buffer.length
    } finally {
      this.#processing = false
    }
    return position
  }

  /**
   * Makes the request and its reply, reads as much of its body as this read holds, then calls the handler:
   * a body that is already here and malformed is refused before any handler sees it.
   * @returns the offset after what was consumed
   */
  #dispatch(buffer: Buffer, base: number, headLength: number): number {
    const parser = this.#parser
    if (parser.contentLength > this.#limits.bodyBytesMax) {
      throw new HttpError(413, 'BODY_TOO_LARGE', `Body exceeds bodyBytesMax (${this.#limits.bodyBytesMax} bytes)`)
    }
    const request = new Request(buffer, base, parser, this)
    const response = new Response(request, this)
    this.#queue.push(response)
    this.#context.counters.requests++
    let position = base + headLength
    this.#deadlineKind = Deadline.none
    if (request.hasBody) {
      this.#bodyRequest = request
      this.#bodyResponse = response
      if (parser.chunked) this.#decoder.startChunked()
      else this.#decoder.startLength(parser.contentLength)
      this.#setDeadline(Deadline.body, this.#limits.bodyTimeoutMs)
      position = this.#decoder.decode(buffer, position, request)
      if (this.#decoder.done) this.#finishBody()
    }
    // RFC 9112 §9.6: nothing after a request that closes the connection is read.
    if (!request.keepAlive) this.#stopParsing = true
    else if (request.wantsUpgrade && this.#context.upgrader !== undefined) this.#upgradeCandidate = response
    parser.reset()
    this.#callHandler(request, response)
    return position
  }

  #callHandler(request: Request, response: Response): void {
    try {
      const result = this.#context.handler(request, response)
      if (result !== undefined && typeof result.then === 'function') {
        result.then(undefined, (error: unknown) => this.#handlerFailed(response, error))
      }
    } catch (error) {
      this.#handlerFailed(response, error)
    }
  }

  /** An HttpError (the body's own refusal, or one the handler throws on purpose) is answered with its status; anything else is logged and answered 500. */
  #handlerFailed(response: Response, error: unknown): void {
    const known = error instanceof HttpError
    if (!known) this.#context.onError(error, response.request)
    if (!response.headersSent) response.sendError(known ? error : new HttpError(500, 'HANDLER_FAILED', 'The handler failed'))
    else if (!response.finished) this.#connection.destroy()
  }

  #finishBody(): void {
    const request = this.#bodyRequest!
    this.#bodyRequest = null
    this.#bodyResponse = null
    request.endBody()
    if (this.#deadlineKind === Deadline.body) this.#deadlineKind = Deadline.none
    if (this.#queue.length === 0) this.#afterLastReply()
  }

  /** Answers `error` after the replies already owed, then closes. */
  #fail(error: HttpError): void {
    this.#stopParsing = true
    this.#owned = null
    this.#deadlineKind = Deadline.none
    const bodyRequest = this.#bodyRequest
    if (bodyRequest !== null) {
      const response = this.#bodyResponse!
      this.#bodyRequest = null
      this.#bodyResponse = null
      bodyRequest.failBody(error)
      if (!response.headersSent) response.sendError(error)
      else if (!response.finished) this.#connection.destroy()
      else if (this.#queue.length === 0) this.#end()
      return
    }
    const response = new Response(NO_REQUEST, this)
    this.#queue.push(response)
    response.sendError(error)
  }

  /** Sends what replies are done, oldest first, and activates the next one. */
  #advance(): void {
    const queue = this.#queue
    const connection = this.#connection
    while (queue.length > 0 && queue[0]!.finished) {
      // (pop, not shift, for the one reply of an unpipelined request: shift's left-trim costs more.)
      const done = queue.length === 1 ? queue.pop()! : queue.shift()!
      if (done.closesConnection) {
        queue.length = 0
        this.#stopParsing = true
        return this.#end()
      }
      const next = queue[0]
      if (next === undefined) break
      const parts = next.activate()
      if (parts !== null) for (const part of parts) connection.write(part)
      if (this.#continuePending === next.request) {
        this.#continuePending = null
        if (!next.headersSent) connection.write(CONTINUE)
      }
    }
    this.#wakeDrainWaiters()
    this.resumeParsing()
    if (queue.length === 0 && !this.#parsePaused) this.#afterLastReply()
  }

  /** @internal parses what was held back once replies have left (queue under pipelineDepthMax, writes under the mark). */
  resumeParsing(): void {
    if (!this.#parsePaused || this.#processing || this.#connection.closed || this.#upgradeCandidate !== null) return
    if (this.#queue.length >= this.#limits.pipelineDepthMax || this.#connection.bufferedBytes >= this.#limits.writeBufferBytesHigh) return
    this.#parsePaused = false
    this.#connection.resume()
    if (this.#owned !== null) {
      const buffer = this.#owned.subarray(0, this.#ownedLength)
      this.#keepOrHandOff(buffer, this.#process(buffer))
    }
  }

  #afterLastReply(): void {
    if (this.#bodyRequest !== null) return
    if (this.#stopParsing || this.#peerEnded) return this.#end()
    if (this.#owned === null) this.#setDeadline(Deadline.idle, this.#limits.idleTimeoutMs)
  }

  #end(): void {
    if (this.#ended) return
    this.#ended = true
    this.#stopParsing = true
    this.#connection.end()
    this.#setDeadline(Deadline.linger, this.#shuttingDown ? 0 : this.#limits.idleTimeoutMs)
  }

  #setDeadline(kind: Deadline, ms: number): void {
    this.#deadlineKind = kind
    this.#deadline = this.now + ms
  }

  #wakeDrainWaiters(): void {
    const waiters = this.#drainWaiters
    if (waiters === null) return
    this.#drainWaiters = null
    for (const wake of waiters) wake()
  }

  /** Appends a read to the owned buffer, growing it by doubling. @returns a view of the bytes held */
  #append(bytes: Buffer): Buffer {
    const held = this.#ownedLength
    const needed = held + bytes.length
    let owned = this.#owned!
    if (needed > owned.length) {
      const grown = Buffer.allocUnsafeSlow(Math.max(needed * 2, MIN_OWNED_BYTES))
      owned.copy(grown, 0, 0, held)
      owned = grown
      this.#owned = grown
    }
    bytes.copy(owned, held)
    this.#ownedLength = needed
    return owned.subarray(0, needed)
  }

  /** Keeps the bytes from `position` on for the next read; copies them only when they are not already held. */
  #keep(buffer: Buffer, position: number): void {
    if (position >= buffer.length || (this.#stopParsing && this.#bodyRequest === null)) {
      this.#owned = null
      this.#ownedLength = 0
      return
    }
    const owned = this.#owned
    if (owned !== null && position === 0 && buffer.buffer === owned.buffer && buffer.byteOffset === owned.byteOffset) return
    const rest = buffer.length - position
    const fresh = Buffer.allocUnsafeSlow(Math.max(rest * 2, MIN_OWNED_BYTES))
    buffer.copy(fresh, 0, position)
    this.#owned = fresh
    this.#ownedLength = rest
  }
}
