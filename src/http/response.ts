/*
 * A reply: status, headers, and a body sent whole (`send`, `json`) or streamed (`write`, `end`).
 *
 * The head is built as one string from precomputed pieces (status line, cached Server/Date lines, the
 * handler's header lines) and leaves with the body in the connection's batch: for a string body, head and
 * body are one string and one socket write.
 *
 * Replies leave in request order. A reply whose request is not the oldest unanswered one on its connection
 * (pipelining) keeps its output in `#parts` until the ones before it are done; its owner then `activate()`s
 * it and the parts leave in order. Streamed bodies use chunked coding on HTTP/1.1 when no Content-Length was
 * set, and close-delimited bodies on HTTP/1.0. `write()` reports backpressure; `await response.drain()`
 * waits it out.
 */
import { HttpError } from '../errors.ts'
import type { Connection, Protocol } from '../tcp/types.ts'
import type { Request } from './request.ts'
import { headStart, headStartWithReason, reasonPhrase } from './status.ts'

/** What a response needs from its connection. */
export interface ResponseOwner {
  /** Milliseconds, refreshed on every read. */
  readonly now: number
  /** True when `response` is the last reply the connection will send (shutdown, an error, the peer's FIN). */
  closesAfter(response: Response): boolean
  isActive(response: Response): boolean
  write(bytes: string | Uint8Array): boolean
  readonly connectionClosed: boolean
  /** True while the connection's write buffer is over its high-water mark. */
  readonly writeBlocked: boolean
  responseEnded(response: Response): void
  waitForDrain(response: Response): Promise<void>
  /**
   * Sends `head` (a complete 101 head) and hands the connection to the protocol `start` makes, with the
   * bytes read after the request. @returns false when the connection cannot switch now (see switchProtocols)
   */
  switchProtocols(response: Response, head: string, start: (connection: Connection<Protocol>) => Protocol): boolean
  /** What `response.upgrade()` calls: the server's WebSocket upgrade, when it has one. */
  readonly upgrader: Upgrader | undefined
  /** True when the transport can send from a file (sendFile below). */
  readonly canSendFile: boolean
  /** Queues bytes of an open file to follow what was written (the transport's sendfile). */
  sendFile(fd: number, position: number, length: number, done: (complete: boolean) => void): void
}

/** What `response.upgrade()` takes: per-socket data, and header lines to add to the 101 reply. */
export interface UpgradeOptions<Data = unknown> {
  data?: Data
  headers?: Record<string, string> | [string, string][]
}

/**
 * Upgrades `request` to another protocol (a server's WebSocket handlers), answering it with 101. On a request
 * that asks for the protocol but asks wrongly, it sends the refusal (400, 405, 426) itself.
 * @returns true when the connection now speaks the new protocol
 */
export type Upgrader = (request: Request, response: Response, options: UpgradeOptions | undefined) => boolean

const TEXT_TYPE_LINE = 'Content-Type: text/plain; charset=utf-8\r\n'
const JSON_TYPE_LINE = 'Content-Type: application/json; charset=utf-8\r\n'
const BYTES_TYPE_LINE = 'Content-Type: application/octet-stream\r\n'

let lastLength = -1
let lastLengthLine = ''
/** "Content-Length: n\r\n", remembered for the last n (a server tends to send the same size again). */
function contentLengthLine(length: number): string {
  if (length !== lastLength) {
    lastLength = length
    lastLengthLine = `Content-Length: ${length}\r\n`
  }
  return lastLengthLine
}
/** A field name is a token (RFC 9110 §5.1). @internal */
export const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
/** What a field value may not hold (RFC 9110 §5.5). @internal */
export const HEADER_VALUE_BAD = /[\0\r\n]/

/** An Allow field among prepared header lines (a web Response's). */
const ALLOW_LINE = /(?:^|\n)allow:/i

/** A reply waiting behind earlier ones reports backpressure past this many buffered bytes. */
const PARTS_BYTES_HIGH = 64 * 1024

/**
 * The connection encodes strings as Latin-1 (one byte per character, the cheapest encoding), which is right
 * for ASCII only: any other string becomes its UTF-8 bytes here. (byteLength equals length only for ASCII.)
 * @internal
 */
export function asciiOrBytes(body: string | Uint8Array): string | Uint8Array {
  if (typeof body !== 'string' || body === lastAscii) return body
  if (Buffer.byteLength(body) !== body.length) return Buffer.from(body, 'utf8')
  // Handlers tend to send the same string again: remember the last one found to be ASCII.
  lastAscii = body
  return body
}
let lastAscii = ''
/**
 * The last plain reply made (#plainReply), with what it was made of, and its bytes once it was sent twice
 * (then it leaves as bytes copied into the batch: a batch of strings is a rope that must be flattened).
 */
const lastText = { body: '', lines: '', start: '', ending: '', head: '', reply: '', bytes: null as Buffer | null }

const Phase = { fresh: 0, streaming: 1, ended: 2 } as const
type Phase = (typeof Phase)[keyof typeof Phase]

/** A reply's yes/no facts, as bits of one small integer (a Response is made per request). */
const Flag = {
  /** The handler set `Connection: close` (or the reply needs it: an HTTP/1.0 stream, an error). */
  userClose: 1,
  chunked: 2,
  /** Decided with the head: the connection closes after this reply. */
  closes: 4,
} as const

/** What only some replies set, kept out of the object made for every reply. */
interface Rare {
  /** A Content-Length the handler set for a streamed body, or -1. */
  contentLength: number
  /** Bytes still owed of it. */
  declaredLeft: number
  /** Header lines made once elsewhere (static files), sent with a streamed head. */
  prepared: string
  /** A reason phrase of the handler's own, or undefined for the standard one. */
  reason: string | undefined
  /** An `Allow` line for a 2xx head that has none of its own (allowByDefault), or ''. */
  allow: string
}

/**
 * An HTTP reply.
 * @example
 * response.status(201).setHeader('Location', '/items/7').json({ id: 7 })
 */
export class Response {
  /** The status code sent with the head (200 unless set). */
  statusCode = 200
  readonly request: Request
  readonly #owner: ResponseOwner
  #phase: Phase = Phase.fresh
  /** Flag bits. */
  #flags = 0
  #names: string[] | null = null
  #lines: string[] | null = null
  #parts: (string | Uint8Array)[] | null = null
  #partsBytes = 0
  #rare: Rare | null = null

  /** @internal Made by the connection for each request. */
  constructor(request: Request, owner: ResponseOwner) {
    this.request = request
    this.#owner = owner
  }

  /** True once the head has been produced. */
  get headersSent(): boolean {
    return this.#phase !== Phase.fresh
  }
  /** True once the reply has ended. */
  get finished(): boolean {
    return this.#phase === Phase.ended
  }
  /** True once the connection is gone: a streaming handler should stop writing. */
  get closed(): boolean {
    return this.#owner.connectionClosed
  }
  /** True when the connection will be closed after this reply. */
  get closesConnection(): boolean {
    return (this.#flags & Flag.closes) !== 0
  }

  /** Sets the status code: 200-999 (a 1xx is not a final reply, and the server sends 100 Continue itself). */
  status(code: number): this {
    if (!Number.isInteger(code) || code < 200 || code > 999) {
      throw new RangeError(`Invalid status code ${code}: expected an integer from 200 to 999`)
    }
    this.statusCode = code
    return this
  }

  /**
   * Sets a header field, replacing one of the same name. An array sends one field line per value.
   * Content-Length is honoured for streamed bodies; Transfer-Encoding is managed by the server.
   */
  setHeader(name: string, value: string | number | readonly string[]): this {
    if (!HEADER_NAME.test(name)) throw new TypeError(`Invalid header name ${JSON.stringify(name)}: expected a token`)
    const values = Array.isArray(value) ? value : [String(value)]
    for (const one of values) {
      if (HEADER_VALUE_BAD.test(one)) throw new TypeError(`Invalid value for header ${name}: CR, LF and NUL are not allowed`)
    }
    const lower = name.toLowerCase()
    if (lower === 'content-length') {
      const length = Number(values[0])
      if (values.length !== 1 || !Number.isSafeInteger(length) || length < 0) {
        throw new TypeError(`Invalid Content-Length ${JSON.stringify(value)}: expected one non-negative integer`)
      }
      this.#more().contentLength = length
      return this
    }
    if (lower === 'transfer-encoding') return this
    if (lower === 'connection') {
      if (/(^|,)\s*close\s*(,|$)/i.test(values.join(','))) this.#flags |= Flag.userClose
      else this.#flags &= ~Flag.userClose
      return this
    }
    this.removeHeader(lower)
    ;(this.#names ??= []).push(lower)
    ;(this.#lines ??= []).push(values.map((one) => `${name}: ${one}\r\n`).join(''))
    return this
  }

  /** The value set for a header (a joined string for arrays), or undefined. */
  getHeader(name: string): string | undefined {
    const index = this.#names?.indexOf(name.toLowerCase()) ?? -1
    if (index < 0) return undefined
    return this.#lines![index]!.split('\r\n').filter(Boolean).map((line) => line.slice(line.indexOf(':') + 2)).join(', ')
  }

  removeHeader(name: string): this {
    const index = this.#names?.indexOf(name.toLowerCase()) ?? -1
    if (index >= 0) {
      this.#names!.splice(index, 1)
      this.#lines!.splice(index, 1)
    }
    return this
  }

  /** Sends the whole reply: a string (UTF-8, text/plain unless set) or bytes (application/octet-stream). */
  send(body: string | Uint8Array = ''): void {
    if (this.#phase !== Phase.fresh) return
    this.#sendWhole(body, typeof body === 'string' ? TEXT_TYPE_LINE : BYTES_TYPE_LINE)
  }

  /** Sends `value` as JSON. */
  json(value: unknown): void {
    if (this.#phase !== Phase.fresh) return
    // A Content-Type of the handler's own wins (#head leaves out the one given here).
    this.#sendWhole(JSON.stringify(value), JSON_TYPE_LINE)
  }

  /** The whole reply, with `contentType` unless the handler set one. */
  #sendWhole(body: string | Uint8Array, contentType: string): void {
    this.#phase = Phase.ended
    const noBody = this.statusCode === 204 || this.statusCode === 304
    body = asciiOrBytes(body)
    const length = noBody ? -1 : body.length
    if (typeof body === 'string' && length > 0 && this.#isPlain()) {
      this.#emit(this.#plainReply(body, contentType))
      return this.#owner.responseEnded(this)
    }
    const head = this.#head(length, contentType, false)
    if (noBody || this.request.method === 'HEAD' || length === 0) this.#emit(head)
    else if (typeof body === 'string') this.#emit(head + body)
    else {
      this.#emit(head)
      this.#emit(body)
    }
    this.#owner.responseEnded(this)
  }

  /**
   * Streams a piece of the body; the head goes first. Chunked on HTTP/1.1 unless Content-Length was set.
   * @returns false when the connection is backed up: `await response.drain()` before writing more
   */
  write(chunk: string | Uint8Array): boolean {
    if (this.#phase === Phase.ended) return false
    if (this.#phase === Phase.fresh) this.#startStream()
    chunk = asciiOrBytes(chunk)
    const length = chunk.length
    if (length === 0 || this.request.method === 'HEAD') return !this.#backedUp()
    const chunked = (this.#flags & Flag.chunked) !== 0
    const rare = this.#rare
    if (!chunked && rare !== null && rare.contentLength >= 0) {
      if (length > rare.declaredLeft) {
        throw new RangeError(`Body exceeds the Content-Length set (${rare.contentLength} bytes): ${length} more bytes with ${rare.declaredLeft} left`)
      }
      rare.declaredLeft -= length
    }
    if (chunked) this.#emit(`${length.toString(16)}\r\n`)
    this.#emit(chunk)
    if (chunked) this.#emit('\r\n')
    return !this.#backedUp()
  }

  /** Ends the reply, after an optional last piece. Without a prior `write()`, this is `send()`. */
  end(chunk?: string | Uint8Array): void {
    if (this.#phase === Phase.fresh) return this.send(chunk)
    if (this.#phase === Phase.ended) return
    if (chunk !== undefined) this.write(chunk)
    this.#phase = Phase.ended
    const chunked = (this.#flags & Flag.chunked) !== 0
    if (chunked && this.request.method !== 'HEAD') this.#emit('0\r\n\r\n')
    // Fewer bytes than the Content-Length promised: the client can only tell from the connection closing.
    const rare = this.#rare
    if (!chunked && rare !== null && rare.contentLength >= 0 && rare.declaredLeft > 0 && this.request.method !== 'HEAD') this.#flags |= Flag.closes
    this.#owner.responseEnded(this)
  }

  /** Resolves when writing may go on (at once when not backed up, or when the connection has closed). */
  drain(): Promise<void> {
    return this.#owner.waitForDrain(this)
  }

  /**
   * Upgrades the connection to a WebSocket (the server's `websocket` handlers get it, with `options.data` as
   * `ws.data`): 101 is sent and this reply is done. A request that is not a WebSocket upgrade gets false and
   * nothing is sent; one that asks wrongly (a bad key or version, not GET) is refused here (400, 426, 405)
   * and also gets false.
   * @throws TypeError when the server has no `websocket` handlers
   * @example
   * routes: { 'GET /chat': (request, response) => { if (!response.upgrade({ data: { room: 'lobby' } })) response.status(426).send('WebSocket only') } }
   */
  upgrade(options?: UpgradeOptions): boolean {
    const upgrader = this.#owner.upgrader
    if (upgrader === undefined) throw new TypeError('Cannot upgrade: the server has no websocket handlers (serve({ websocket }))')
    if (this.#phase !== Phase.fresh) return false
    return upgrader(this.request, this, options)
  }

  /**
   * @internal sends `head` (a whole 101 head) and hands the connection to the protocol `start` makes. Only
   * the oldest reply, not started, of a request without a body may switch; then this reply is done.
   */
  switchProtocols(head: string, start: (connection: Connection<Protocol>) => Protocol): boolean {
    if (this.#phase !== Phase.fresh) return false
    this.#phase = Phase.ended
    this.statusCode = 101
    if (this.#owner.switchProtocols(this, head, start)) return true
    this.#phase = Phase.fresh
    this.statusCode = 200
    return false
  }

  /** @internal replaces a reply the handler has not started with an error reply, and closes after it. */
  sendError(error: HttpError): void {
    if (this.#phase !== Phase.fresh) return
    this.#names = this.#lines = null
    this.#rare = null
    this.#flags |= Flag.userClose
    this.statusCode = error.status
    this.send(`${reasonPhrase(error.status)}: ${error.message}\n`)
  }

  /**
   * @internal Fast path for replies whose header lines are made once and reused (static files): `lines` are
   * complete field lines, each ending in CRLF; a string body is sent as Latin-1 (byte for byte). A HEAD
   * request gets the head only; 304 gets no length.
   */
  sendPrepared(status: number, lines: string, body: Uint8Array | string | null, length: number): void {
    if (this.#phase !== Phase.fresh) return
    this.#phase = Phase.ended
    this.statusCode = status
    const noBody = status === 304 || status === 204
    if (typeof body === 'string' && length > 0 && length === body.length && !noBody && this.#isPlain()) {
      this.#emit(this.#plainReply(body, lines))
      return this.#owner.responseEnded(this)
    }
    const head = this.#head(noBody ? -1 : length, undefined, false, lines)
    if (noBody || body === null || length === 0 || this.request.method === 'HEAD') this.#emit(head)
    else if (typeof body === 'string') this.#emit(head + body)
    else {
      this.#emit(head)
      this.#emit(body)
    }
    this.#owner.responseEnded(this)
  }

  /** @internal True when `sendFile()` would be taken now (the transport has sendfile, this reply may use it). */
  get canSendFile(): boolean {
    const owner = this.#owner
    return this.#phase !== Phase.ended && this.request.method !== 'HEAD' && owner.canSendFile && owner.isActive(this)
  }

  /**
   * @internal Sends `length` bytes of the open file `fd` from `position` as (part of) a body whose
   * Content-Length is set, with sendfile(2) where the transport has it. Only the oldest reply on its
   * connection may: a later one has to wait for those before it anyway. `done` runs once, when the bytes are
   * sent (true) or the connection closed (false): close the file then.
   * @returns false when this cannot be done here; then the bytes must be written (nothing was sent)
   */
  sendFile(fd: number, position: number, length: number, done: (complete: boolean) => void): boolean {
    if (!this.canSendFile) return false
    const owner = this.#owner
    const rare = this.#rare
    // (Without a Content-Length set there is no rare state, and nothing may go this way.)
    if (rare === null) return false
    const left = this.#phase === Phase.fresh ? rare.contentLength : (this.#flags & Flag.chunked) !== 0 ? -1 : rare.declaredLeft
    if (left < length) return false
    if (this.#phase === Phase.fresh) this.#startStream()
    rare.declaredLeft -= length
    owner.sendFile(fd, position, length, done)
    return true
  }

  /**
   * @internal the reason phrase to send instead of the standard one (RFC 9112 §4: HTAB, SP, visible
   * characters and obs-text).
   */
  reason(text: string): this {
    if (/[^\t\x20-\x7e\x80-\xff]/.test(text)) throw new TypeError(`Invalid status text ${JSON.stringify(text)}: expected tabs, spaces and visible characters`)
    this.#more().reason = text
    return this
  }

  /**
   * @internal `Allow: methods` on this reply if it is a success (2xx) and names no Allow itself: what the
   * server knows of an OPTIONS request it passes to a handler (RFC 9110 §9.3.7 asks a successful OPTIONS
   * reply for Allow). `methods` as Allow lists them: "GET, HEAD, OPTIONS".
   */
  allowByDefault(methods: string): this {
    this.#more().allow = `Allow: ${methods}\r\n`
    return this
  }

  /** @internal complete header lines (each ending in CRLF) to send with the head of a streamed body. */
  prepare(lines: string): this {
    this.#more().prepared = lines
    return this
  }

  /** @internal the reply is now the oldest on its connection; returns what it had buffered. */
  activate(): (string | Uint8Array)[] | null {
    const parts = this.#parts
    this.#parts = null
    this.#partsBytes = 0
    return parts
  }

  #startStream(): void {
    this.#phase = Phase.streaming
    const rare = this.#rare
    const length = rare === null ? -1 : rare.contentLength
    if (rare !== null) rare.declaredLeft = length
    // HTTP/1.0 has no chunked coding: without a length, the body ends when the connection closes.
    if (length < 0) this.#flags |= this.request.versionMinor === 1 ? Flag.chunked : Flag.userClose
    this.#emit(this.#head(length, undefined, (this.#flags & Flag.chunked) !== 0, rare === null ? '' : rare.prepared))
  }

  /**
   * The whole reply for a string body with no header set through setHeader(): #head, `lines` (complete
   * field lines: the Content-Type, or a prepared reply's) and the body, made once and sent again while
   * the head's start (status, Date), the lines, its ending and the body are the same (a server tends to send
   * one reply many times a second; the joins, and flattening them when the batch is written, cost more than
   * the comparison).
   */
  #plainReply(body: string, lines: string): string | Buffer {
    const start = headStart(this.statusCode, this.#owner.now)
    const ending = this.#ending()
    const last = lastText
    let head: string
    if (lines === last.lines && start === last.start && ending === last.ending && body.length === last.body.length) {
      if (body === last.body) return (last.bytes ??= Buffer.from(last.reply, 'latin1'))
      // Another body of the same length (JSON of one shape): the same head.
      head = last.head
    } else {
      head = this.#head(body.length, undefined, false, lines, ending)
    }
    last.body = body
    last.lines = lines
    last.start = start
    last.ending = ending
    last.head = head
    last.reply = head + body
    last.bytes = null
    return last.reply
  }

  /** True when the reply's head is only what #plainReply keys on: no setHeader() fields, no reason or Allow of its own, not HEAD. */
  #isPlain(): boolean {
    const rare = this.#rare
    return this.#names === null && (rare === null || (rare.reason === undefined && rare.allow === '')) && this.request.method !== 'HEAD'
  }

  /** Decides keep-alive for this reply and returns the head's last line(s). */
  #ending(): string {
    const owner = this.#owner
    const request = this.request
    const keepAlive =
      request.keepAlive && (this.#flags & Flag.userClose) === 0 && !owner.closesAfter(this) &&
      // A client that expects 100-continue and was not asked for its body may or may not send it (RFC 9110 §10.1.1).
      !(request.expectContinue && !request.continueAsked && !request.bodyComplete)
    if (!keepAlive) {
      this.#flags |= Flag.closes
      return 'Connection: close\r\n\r\n'
    }
    this.#flags &= ~Flag.closes
    if (request.versionMinor === 0) return 'Connection: keep-alive\r\n\r\n'
    return '\r\n'
  }

  #head(length: number, contentType: string | undefined, chunked: boolean, prepared = '', ending = this.#ending()): string {
    const names = this.#names
    const rare = this.#rare
    const reason = rare === null ? undefined : rare.reason
    let head = reason === undefined ? headStart(this.statusCode, this.#owner.now) : headStartWithReason(this.statusCode, reason, this.#owner.now)
    if (names !== null) head += this.#lines!.join('')
    head += prepared
    if (rare !== null && rare.allow !== '' && this.statusCode < 300 && !names?.includes('allow') && !ALLOW_LINE.test(prepared)) head += rare.allow
    if (contentType !== undefined && length > 0 && (names === null || !names.includes('content-type'))) {
      head += contentType
    }
    if (length >= 0) head += contentLengthLine(length)
    else if (chunked) head += 'Transfer-Encoding: chunked\r\n'
    return head + ending
  }

  #more(): Rare {
    return (this.#rare ??= { contentLength: -1, declaredLeft: 0, prepared: '', reason: undefined, allow: '' })
  }

  #emit(bytes: string | Uint8Array): void {
    if (this.#owner.isActive(this)) {
      this.#owner.write(bytes)
      return
    }
    ;(this.#parts ??= []).push(bytes)
    this.#partsBytes += bytes.length
  }

  #backedUp(): boolean {
    return this.#owner.isActive(this) ? this.#owner.writeBlocked : this.#partsBytes > PARTS_BYTES_HIGH
  }
}
