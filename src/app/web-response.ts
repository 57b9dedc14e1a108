/*
 * Web `Response`s written as replies, and the light Response that makes them cheap.
 *
 * Constructing Node's own Response costs about 10 µs on this machine (undici validates, makes a Headers
 * list, wraps the body in a stream), more than the rest of a wirespeed request. Frameworks such as Hono
 * construct one per request through the global `Response`, so while a server in fetch mode runs,
 * `globalThis.Response` is `LightResponse` (as @hono/node-server does by default; `lightResponse: false`
 * opts out): it keeps the body and init it was given and makes the real Response only when something asks
 * for what only the real one has (`body`, `text()`, `clone()`...). `instanceof Response` holds both ways.
 *
 * `writeWebResponse()` writes any Response: a light one that was never made real straight from its body and
 * init (string, bytes, null, URLSearchParams: one head and one write; Blob: once its bytes are read), a
 * real one by streaming its body with backpressure, chunked unless it says its Content-Length. Every
 * Set-Cookie stays its own field line (RFC 6265 §3). A HEAD request gets the head only.
 */
import { asciiOrBytes, HEADER_NAME, HEADER_VALUE_BAD, type Response as NativeResponse } from '../http/response.ts'
import { delegateToReal } from './delegate.ts'

const GlobalResponse = globalThis.Response
type BodyInit = ConstructorParameters<typeof globalThis.Response>[0]
type HeadersInit = NonNullable<ResponseInit['headers']>
const GlobalHeaders = globalThis.Headers

const TEXT_TYPE = 'text/plain;charset=UTF-8'
const FORM_TYPE = 'application/x-www-form-urlencoded;charset=UTF-8'
// The same string each time, so the reply made from them can be recognised and reused (Response#plainReply).
const TEXT_TYPE_LINE = `Content-Type: ${TEXT_TYPE}\r\n`
const FORM_TYPE_LINE = `Content-Type: ${FORM_TYPE}\r\n`
/** Fields the server writes itself (framing and the connection are the server's, RFC 9112 §6, §9.6). */
const SERVER_FIELDS = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive'])

type FastBody = string | Uint8Array | ArrayBuffer | URLSearchParams | Blob | null | undefined

function isFastBody(body: unknown): body is FastBody {
  return body === null || body === undefined || typeof body === 'string' || body instanceof Uint8Array ||
    body instanceof ArrayBuffer || body instanceof URLSearchParams || body instanceof Blob
}

/**
 * A Response that makes the real one only when asked for what only it has.
 * @internal installed as globalThis.Response by the fetch mode (the interface declares what delegateToReal()
 * defines below: every member of Response)
 */
export interface LightResponse extends globalThis.Response {}
/** @internal */
export class LightResponse {
  #body: FastBody
  #init: ResponseInit | undefined
  #headers: Headers | undefined
  #real: globalThis.Response | undefined

  constructor(body?: BodyInit, init?: ResponseInit) {
    const status = init?.status
    if (!isFastBody(body) || (status !== undefined && (!Number.isInteger(status) || status < 200 || status > 599)) ||
      ((status === 204 || status === 205 || status === 304) && body !== null && body !== undefined)) {
      // Let the real constructor say what is wrong (or take what the fast path does not).
      this.#real = new GlobalResponse(body, init)
      return
    }
    this.#body = body
    this.#init = init
  }

  static [Symbol.hasInstance](value: unknown): boolean {
    return (typeof value === 'object' && value !== null && #body in value) || value instanceof GlobalResponse
  }

  get status(): number {
    return this.#real?.status ?? this.#init?.status ?? 200
  }
  get statusText(): string {
    return this.#real?.statusText ?? this.#init?.statusText ?? ''
  }
  get ok(): boolean {
    const status = this.status
    return status >= 200 && status <= 299
  }
  get headers(): Headers {
    if (this.#real !== undefined) return this.#real.headers
    if (this.#headers === undefined) {
      this.#headers = new GlobalHeaders(this.#init?.headers)
      const type = defaultContentType(this.#body)
      if (type !== undefined && !this.#headers.has('content-type')) this.#headers.set('content-type', type)
    }
    return this.#headers
  }
  get redirected(): boolean {
    return false
  }
  get type(): globalThis.Response['type'] {
    return this.#real?.type ?? 'default'
  }
  get url(): string {
    return this.#real?.url ?? ''
  }

  /**
   * The real Response, made once; the headers read or changed so far go with it, and so does the default
   * Content-Type of its body: Bun's Response keeps a string body's `text/plain;charset=utf-8` out of its
   * `headers` (Bun.serve adds it while sending), so made from the body alone it would be written with none.
   */
  real(): globalThis.Response {
    if (this.#real === undefined) {
      const init = this.#init
      const headers = this.#headers ?? (defaultContentType(this.#body) === undefined ? undefined : this.headers)
      this.#real = new GlobalResponse(this.#body, headers === undefined ? init : { status: init?.status, statusText: init?.statusText, headers })
    }
    return this.#real
  }

  /** @internal what the writer needs, or undefined once the real Response exists. */
  static parts(response: LightResponse): { body: FastBody; init: ResponseInit | undefined; headers: Headers | undefined } | undefined {
    if (response.#real !== undefined) return undefined
    return { body: response.#body, init: response.#init, headers: response.#headers }
  }

  /** True for a LightResponse (not a real one). */
  static isLight(value: unknown): value is LightResponse {
    return typeof value === 'object' && value !== null && #body in value
  }
}

// Everything else is the real one's.
delegateToReal(LightResponse.prototype, GlobalResponse.prototype)
Object.setPrototypeOf(LightResponse, GlobalResponse)

let installs = 0

/** Makes `globalThis.Response` the light one while at least one server asks for it. @internal */
export function installLightResponse(): () => void {
  if (installs++ === 0) setGlobalResponse(LightResponse)
  let done = false
  return () => {
    if (done) return
    done = true
    if (--installs === 0) setGlobalResponse(GlobalResponse)
  }
}

/** Replaces the global binding (a data property, as Node defines it) without claiming a type. */
function setGlobalResponse(value: object): void {
  Object.defineProperty(globalThis, 'Response', { value, writable: true, configurable: true, enumerable: false })
}

/** True for any web Response, light or real. @internal */
export function isWebResponse(value: unknown): value is globalThis.Response {
  return value instanceof GlobalResponse || LightResponse.isLight(value)
}

function defaultContentType(body: FastBody): string | undefined {
  if (typeof body === 'string') return TEXT_TYPE
  if (body instanceof URLSearchParams) return FORM_TYPE
  if (body instanceof Blob && body.type !== '') return body.type
  return undefined
}

/** Field lines from any HeadersInit, checked as the Headers class would check them. */
function fieldLines(headers: HeadersInit | undefined, out: { contentType: boolean; length: number }): string {
  if (headers === undefined) return ''
  let lines = ''
  if (headers instanceof GlobalHeaders) {
    // Iteration yields each Set-Cookie on its own; names are lower-case and values already checked.
    for (const [name, value] of headers) lines += lineOf(name, `${name}: ${value}\r\n`, value, out)
    return lines
  }
  if (Symbol.iterator in headers) {
    // Pairs, in an array or any iterable (a Map), as the Headers constructor takes them.
    for (const pair of headers as Iterable<readonly string[]>) {
      if (pair.length !== 2) throw new TypeError('Invalid header pair: expected [name, value]')
      lines += checkedLine(String(pair[0]), String(pair[1]), out)
    }
    return lines
  }
  const record = headers as Record<string, string>
  for (const name in record) if (Object.hasOwn(record, name)) lines += checkedLine(name, String(record[name]), out)
  return lines
}

/**
 * The last field a record or a pair list gave, checked and made into its line: frameworks send the same
 * few fields on every reply (Hono's JSON: one Content-Type), and the same line each time lets the reply's
 * head be reused (Response#plainReply compares it by identity first).
 */
const lastField = { name: '', raw: '', value: '', lower: '', line: '' }

function checkedLine(name: string, raw: string, out: { contentType: boolean; length: number }): string {
  const field = lastField
  if (name !== field.name || raw !== field.raw) {
    const value = raw.trim()
    if (!HEADER_NAME.test(name)) throw new TypeError(`Invalid header name ${JSON.stringify(name)}: expected a token`)
    if (HEADER_VALUE_BAD.test(value)) throw new TypeError(`Invalid value for header ${name}: CR, LF and NUL are not allowed`)
    field.name = name
    field.raw = raw
    field.value = value
    field.lower = name.toLowerCase()
    field.line = `${name}: ${value}\r\n`
  }
  return lineOf(field.lower, field.line, field.value, out)
}

/** A field's line, or '' for the fields the server writes itself (noting a Content-Length given). */
function lineOf(lower: string, line: string, value: string, out: { contentType: boolean; length: number }): string {
  if (SERVER_FIELDS.has(lower)) {
    if (lower === 'content-length') out.length = Number(value)
    return ''
  }
  if (lower === 'content-type') out.contentType = true
  return line
}

/**
 * Writes a web Response as the reply. Returns a promise while a body is still being read or streamed.
 * @internal
 */
export function writeWebResponse(web: unknown, response: NativeResponse): void | Promise<void> {
  let real: globalThis.Response
  if (LightResponse.isLight(web)) {
    const parts = LightResponse.parts(web)
    if (parts !== undefined) return writeLight(parts.body, parts.init, parts.headers, response)
    real = web.real()
  } else if (web instanceof GlobalResponse) {
    real = web
  } else {
    throw new TypeError(`The fetch handler returned ${describe(web)}: expected a Response`)
  }
  const out = { contentType: true, length: -1 }
  const lines = fieldLines(real.headers, out)
  if (real.statusText !== '') response.reason(real.statusText)
  if (real.body === null) {
    response.sendPrepared(real.status, lines, null, emptyLength(response, out.length))
    return
  }
  return writeStream(real.body, real.status, lines, out.length, response)
}

function writeLight(body: FastBody, init: ResponseInit | undefined, headers: Headers | undefined, response: NativeResponse): void | Promise<void> {
  const out = { contentType: false, length: -1 }
  let lines = fieldLines(headers ?? init?.headers, out)
  if (!out.contentType && headers === undefined) {
    const type = defaultContentType(body)
    if (type !== undefined) lines += type === TEXT_TYPE ? TEXT_TYPE_LINE : type === FORM_TYPE ? FORM_TYPE_LINE : `Content-Type: ${type}\r\n`
  }
  const statusText = init?.statusText
  if (statusText !== undefined && statusText !== '') response.reason(statusText)
  const status = init?.status ?? 200
  if (body instanceof Blob) return body.bytes().then((bytes) => response.sendPrepared(status, lines, bytes, bytes.length))
  const bytes = body === null || body === undefined ? null
    : typeof body === 'string' ? asciiOrBytes(body)
    : body instanceof URLSearchParams ? body.toString()
    : body instanceof ArrayBuffer ? new Uint8Array(body)
    : body
  response.sendPrepared(status, lines, bytes, bytes === null ? emptyLength(response, out.length) : bytes.length)
}

/**
 * The Content-Length of a reply without a body: 0, except to HEAD, where a null body is what frameworks
 * send for "the GET reply without its body" (Hono does): then the length given, or none, never a false 0
 * (RFC 9110 §9.3.2, §8.6).
 */
function emptyLength(response: NativeResponse, given: number): number {
  return response.request.method === 'HEAD' ? given : 0
}

/** Streams a body with backpressure: Content-Length when the Response gave one, else chunked (1.0: until close). */
async function writeStream(body: ReadableStream<Uint8Array>, status: number, lines: string, length: number, response: NativeResponse): Promise<void> {
  response.status(status).prepare(lines)
  // 205 says there is no content (RFC 9110 §15.3.6): its reply ends with Content-Length: 0 whatever the body.
  // Node's Response refuses a body with 205, 204 or 304; Bun's takes one, so it reaches here.
  if (length >= 0 && Number.isSafeInteger(length) && status !== 205) response.setHeader('Content-Length', length)
  if (response.request.method === 'HEAD' || status === 204 || status === 205 || status === 304) {
    await body.cancel()
    response.end()
    return
  }
  const reader = body.getReader()
  try {
    for (;;) {
      if (response.closed) {
        await reader.cancel()
        return
      }
      const { done, value } = await reader.read()
      if (done) break
      if (!response.write(value) && !response.closed) await response.drain()
    }
    response.end()
  } catch (error) {
    reader.cancel(error).catch(() => {})
    throw error
  } finally {
    reader.releaseLock()
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null'
  if (typeof value === 'object') return `an object (${Object.prototype.toString.call(value)})`
  return typeof value
}

/** A fixed reply made once from a Response (a route's value): its status, field lines and whole body. @internal */
export interface PreparedReply {
  status: number
  reason: string
  lines: string
  body: Uint8Array
}

/** Reads a Response once, whole, into a PreparedReply. @internal */
export async function prepareWebResponse(web: globalThis.Response): Promise<PreparedReply> {
  const real = LightResponse.isLight(web) ? web.real() : web
  const lines = fieldLines(real.headers, { contentType: true, length: -1 })
  // A copy is read, so the same Response may serve again (another server, a restart).
  const body = new Uint8Array(await real.clone().arrayBuffer())
  return { status: real.status, reason: real.statusText, lines, body }
}

/** Sends a PreparedReply (HEAD gets the head only). @internal */
export function sendPrepared(reply: PreparedReply, response: NativeResponse): void {
  if (reply.reason !== '') response.reason(reply.reason)
  response.sendPrepared(reply.status, reply.lines, reply.body, reply.body.length)
}
