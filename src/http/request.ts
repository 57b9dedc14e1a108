/*
 * A request as a handler sees it: a view over the bytes it arrived in.
 *
 * The request line and header fields stay in the read buffer; the Request keeps that buffer, the request's
 * base offset and the parser's field offsets. `url`, `path` and `header(name)` decode on first use, so a
 * handler that reads no header pays for none. The buffer is never written again once a request points into
 * it (the connection copies unfinished bytes to a fresh buffer instead).
 *
 *   buffer: ... | GET /a?b HTTP/1.1\r\nHost: x\r\nAccept: text/html\r\n\r\n | next request ...
 *               ^base     ^target            ^name ^value
 *   fields (numbers, relative to base): [nameStart, nameEnd, valueStart, valueEnd] per field
 *
 * The body arrives after the handler starts: `body()`, `text()` and `json()` resolve once the whole body is
 * in (bounded by bodyBytesMax). Asking for it is what sends `100 Continue` to a client that expects one.
 */
import type { HttpError } from '../errors.ts'
import { equalsLower } from './chars.ts'
import type { RequestParser } from './parser.ts'

/** What a request needs from its connection. */
export interface RequestOwner {
  continueRequested(request: Request<unknown>): void
  readonly remoteAddress: string | undefined
  readonly remotePort: number | undefined
}

const EMPTY = Buffer.alloc(0)
const NO_PARAMS: Record<string, string> = Object.freeze({}) as Record<string, string>

/** The request's yes/no facts, as bits of one small integer (a Request is made per request: fewer fields, less to write). */
const Flag = {
  keepAlive: 1,
  hasBody: 2,
  expectContinue: 4,
  wantsUpgrade: 8,
  bodyDone: 16,
  continueAsked: 32,
  aborted: 64,
  discarding: 128,
} as const

/** What a request with a body keeps of it, made only for one that has (or is asked for) a body. */
interface BodyState {
  parts: Buffer[] | null
  bytes: number
  error: HttpError | null
  waiters: { resolve: (body: Buffer) => void; reject: (error: Error) => void }[] | null
}

/**
 * An HTTP request.
 * @example
 * const server = await serve({ port: 0, handler: async (request, response) => {
 *   response.json({ path: request.path, agent: request.header('user-agent'), body: await request.text() })
 * } })
 */
// (A BodySink for the decoder, by shape: the interface is internal and stays out of the published types.)
export class Request<Params = Record<string, string>> {
  /**
   * The route's parameters, percent-decoded (`'GET /users/:id'` gives `{ id }`; a wildcard gives `'*'`, the
   * rest of the path). Empty outside routes.
   */
  params: Params = NO_PARAMS as Params
  /** GET, HEAD, POST, PUT, DELETE, OPTIONS, TRACE or PATCH. */
  readonly method: string
  /** 0 for HTTP/1.0, 1 for HTTP/1.1. */
  readonly versionMinor: number

  /** Flag bits. */
  #flags: number
  readonly #buffer: Buffer
  readonly #base: number
  readonly #targetStart: number
  readonly #targetEnd: number
  /** An absolute-form target's authority (it replaces Host), or -1. */
  readonly #authorityStart: number
  readonly #authorityEnd: number
  /** The parser's field store, and where this request's slots lie in it. */
  readonly #fields: number[]
  readonly #fieldsStart: number
  readonly #fieldsEnd: number
  #url: string | undefined
  #queryStart = -2
  #owner: RequestOwner
  #body: BodyState | null = null
  #onAbort: (() => void) | null = null

  /** @internal Made by the connection for each request. */
  constructor(buffer: Buffer, base: number, parser: RequestParser, owner: RequestOwner) {
    this.#buffer = buffer
    this.#base = base
    this.method = parser.method
    this.versionMinor = parser.versionMinor
    this.#targetStart = parser.targetStart
    this.#targetEnd = parser.targetEnd
    this.#authorityStart = parser.authorityStart
    this.#authorityEnd = parser.authorityEnd
    this.#fields = parser.fields
    this.#fieldsStart = parser.fieldsStart
    this.#fieldsEnd = parser.fieldsStart + parser.fieldCount * 4
    const keepAlive = parser.versionMinor === 1 ? !parser.connectionClose : parser.connectionKeepAlive && !parser.connectionClose
    const hasBody = parser.chunked || parser.contentLength > 0
    this.#flags =
      (keepAlive ? Flag.keepAlive : 0) |
      (hasBody ? Flag.hasBody : Flag.bodyDone) |
      (parser.expectContinue && parser.versionMinor === 1 && hasBody ? Flag.expectContinue : 0) |
      (parser.connectionUpgrade ? Flag.wantsUpgrade : 0)
    this.#owner = owner
  }

  /** True when the reply may leave the connection open. */
  get keepAlive(): boolean {
    return (this.#flags & Flag.keepAlive) !== 0
  }
  /** True when the request has a body (Content-Length above 0, or chunked). */
  get hasBody(): boolean {
    return (this.#flags & Flag.hasBody) !== 0
  }
  /** The client sent `Expect: 100-continue`. */
  get expectContinue(): boolean {
    return (this.#flags & Flag.expectContinue) !== 0
  }
  /** `Connection` names "upgrade": the client asks to switch protocols (a WebSocket, say: RFC 6455 §4.1). */
  get wantsUpgrade(): boolean {
    return (this.#flags & Flag.wantsUpgrade) !== 0
  }

  /**
   * The request target in origin-form ("/path?query"), decoded as Latin-1 (the parser admits ASCII only).
   * For an absolute-form target ("http://host/path?query", as proxies and `curl -x` send it) it is the same
   * as for origin-form: the path and query, "/" for an empty path (RFC 9112 §3.2.2, §3.3).
   */
  get url(): string {
    if (this.#url !== undefined) return this.#url
    const start = this.#base + this.#targetStart
    const end = this.#base + this.#targetEnd
    // "/" is the most requested target of all: no string is made for it.
    if (end - start === 1 && this.#buffer[start] === 0x2f) {
      this.#url = '/'
      this.#queryStart = -1
    } else {
      const url = this.#buffer.toString('latin1', start, end)
      this.#url = this.#authorityStart >= 0 && url[0] !== '/' ? `/${url}` : url
    }
    return this.#url
  }

  /** The target up to "?" (still percent-encoded). */
  get path(): string {
    const url = this.url
    const query = this.#queryIndex()
    return query < 0 ? url : url.slice(0, query)
  }

  /** The target after "?", without it ('' when there is none). */
  get query(): string {
    const query = this.#queryIndex()
    return query < 0 ? '' : this.url.slice(query + 1)
  }

  #queryIndex(): number {
    if (this.#queryStart === -2) this.#queryStart = this.url.indexOf('?')
    return this.#queryStart
  }

  /** "HTTP/1.1" or "HTTP/1.0". */
  get httpVersion(): string {
    return this.versionMinor === 1 ? 'HTTP/1.1' : 'HTTP/1.0'
  }

  /**
   * The value of a header field, by case-insensitive name; repeated fields are joined with ", "
   * (RFC 9110 §5.3). Values are decoded as Latin-1, byte for byte.
   */
  header(name: string): string | undefined {
    const lower = name.toLowerCase()
    // RFC 9112 §3.2.2: with an absolute-form target, its authority is the host, whatever Host says.
    if (this.#authorityStart >= 0 && lower === 'host') return this.#buffer.toString('latin1', this.#base + this.#authorityStart, this.#base + this.#authorityEnd)
    const fields = this.#fields
    const buffer = this.#buffer
    const base = this.#base
    let value: string | undefined
    for (let slot = this.#fieldsStart; slot < this.#fieldsEnd; slot += 4) {
      if (!equalsLower(buffer, base + fields[slot]!, base + fields[slot + 1]!, lower)) continue
      const part = buffer.toString('latin1', base + fields[slot + 2]!, base + fields[slot + 3]!)
      value = value === undefined ? part : `${value}, ${part}`
    }
    return value
  }

  /** Every header field as [name, value] pairs, in the order received. */
  headers(): [string, string][] {
    const fields = this.#fields
    const buffer = this.#buffer
    const base = this.#base
    const pairs: [string, string][] = []
    for (let slot = this.#fieldsStart; slot < this.#fieldsEnd; slot += 4) {
      pairs.push([
        buffer.toString('latin1', base + fields[slot]!, base + fields[slot + 1]!),
        buffer.toString('latin1', base + fields[slot + 2]!, base + fields[slot + 3]!),
      ])
    }
    return pairs
  }

  /** The peer's address ("127.0.0.1", "::1"), undefined once the connection is gone. */
  get remoteAddress(): string | undefined {
    return this.#owner.remoteAddress
  }
  get remotePort(): number | undefined {
    return this.#owner.remotePort
  }

  /** True once the connection closed before the reply was complete. */
  get aborted(): boolean {
    return (this.#flags & Flag.aborted) !== 0
  }

  /** @internal called once if the connection closes before the reply ends (the fetch mode's signal). */
  onAbort(listener: () => void): void {
    if (this.aborted) listener()
    else this.#onAbort = listener
  }

  /** @internal the connection closed before the reply was complete. */
  abort(): void {
    if (this.aborted) return
    this.#flags |= Flag.aborted
    const listener = this.#onAbort
    this.#onAbort = null
    listener?.()
  }

  /** The whole body (empty when there is none). Rejects with an HttpError when the body is refused. */
  body(): Promise<Buffer> {
    const state = this.#body
    if (state !== null && state.error !== null) return Promise.reject(state.error)
    if (this.bodyComplete) return Promise.resolve(this.#joinBody())
    if (this.expectContinue && !this.continueAsked) {
      this.#flags |= Flag.continueAsked
      this.#owner.continueRequested(this)
    }
    return new Promise((resolve, reject) => (this.#bodyState().waiters ??= []).push({ resolve, reject }))
  }

  /** The body decoded as UTF-8. */
  async text(): Promise<string> {
    return (await this.body()).toString('utf8')
  }

  /** The body parsed as JSON. */
  async json(): Promise<unknown> {
    return JSON.parse(await this.text())
  }

  /** True once `body()` (or text/json) was called on a request that expects 100-continue. */
  get continueAsked(): boolean {
    return (this.#flags & Flag.continueAsked) !== 0
  }
  /** True once the whole body has arrived (or there is none). */
  get bodyComplete(): boolean {
    return (this.#flags & Flag.bodyDone) !== 0
  }

  /** @internal a piece of body from the decoder. */
  pushBody(bytes: Buffer): void {
    if (bytes.length === 0 || (this.#flags & Flag.discarding) !== 0) return
    const state = this.#bodyState()
    ;(state.parts ??= []).push(bytes)
    state.bytes += bytes.length
  }

  /** @internal the body is complete. */
  endBody(): void {
    this.#flags |= Flag.bodyDone
    const state = this.#body
    const waiters = state?.waiters
    if (!waiters) return
    state!.waiters = null
    const body = this.#joinBody()
    for (const waiter of waiters) waiter.resolve(body)
  }

  /** @internal the body was refused or cut off. */
  failBody(error: HttpError): void {
    const state = this.#bodyState()
    state.error = error
    state.parts = null
    const waiters = state.waiters
    state.waiters = null
    if (waiters) for (const waiter of waiters) waiter.reject(error)
  }

  /** @internal the reply is done; body bytes still to come are dropped. */
  discardBody(): void {
    this.#flags |= Flag.discarding
    if (this.#body !== null) this.#body.parts = null
  }

  #bodyState(): BodyState {
    return (this.#body ??= { parts: null, bytes: 0, error: null, waiters: null })
  }

  #joinBody(): Buffer {
    const state = this.#body
    const parts = state?.parts
    if (!parts) return EMPTY
    if (parts.length === 1) return parts[0]!
    const whole = Buffer.concat(parts, state!.bytes)
    state!.parts = [whole]
    return whole
  }
}
