/*
 * The web `Request` a fetch handler gets, made lazily over wirespeed's own Request.
 *
 * Node's Request constructor costs about 4 µs here and its Headers 1.5 µs: more than a whole wirespeed
 * request. `WebRequest` is an object whose prototype chain holds `Request.prototype` (so `instanceof Request`
 * is true, for every caller) and whose `method`, `url`, `headers`, `signal` and body readers (`text()`,
 * `json()`, `arrayBuffer()`, `bytes()`) are answered from the wirespeed Request: a handler that reads only
 * `url` and `method` pays for one small object. Anything else (`body` as a stream, `formData()`, `clone()`,
 * `cache`...) makes the real Request once, with the same headers, body and signal, and asks it.
 *
 * `signal` aborts when the connection closes before the reply is complete (the client went away).
 */
import type { Request as NativeRequest } from '../http/request.ts'
import type { Response as NativeResponse } from '../http/response.ts'
import { delegateToReal } from './delegate.ts'

const GlobalRequest = globalThis.Request

/**
 * A web Request over a wirespeed Request. (The interface declares what delegateToReal() defines below: every
 * member of Request.)
 * @internal
 */
export interface WebRequest extends globalThis.Request {}
/** @internal */
export class WebRequest {
  readonly #native: NativeRequest
  /** "http://host:port" of the server, for a request without Host (HTTP/1.0). */
  readonly #origin: string
  /** The reply the request's connection awaits (what `server.upgrade()` switches). */
  readonly #response: NativeResponse | undefined
  #url: string | undefined
  #headers: Headers | undefined
  #controller: AbortController | undefined
  #real: globalThis.Request | undefined
  #bodyUsed = false

  constructor(native: NativeRequest, origin: string, response?: NativeResponse) {
    this.#native = native
    this.#origin = origin
    this.#response = response
  }

  /** The wirespeed Request under a WebRequest, or undefined for any other value. */
  static nativeOf(value: unknown): NativeRequest | undefined {
    return typeof value === 'object' && value !== null && #native in value ? value.#native : undefined
  }

  /** The wirespeed Response a WebRequest's connection awaits, or undefined. */
  static responseOf(value: unknown): NativeResponse | undefined {
    return typeof value === 'object' && value !== null && #native in value ? value.#response : undefined
  }

  get method(): string {
    return this.#native.method
  }
  get url(): string {
    if (this.#url === undefined) {
      const host = this.#native.header('host')
      this.#url = (host === undefined || host === '' ? this.#origin : `http://${host}`) + this.#native.url
    }
    return this.#url
  }
  get headers(): Headers {
    if (this.#real !== undefined) return this.#real.headers
    if (this.#headers === undefined) {
      const headers = new Headers()
      for (const [name, value] of this.#native.headers()) headers.append(name, value)
      this.#headers = headers
    }
    return this.#headers
  }
  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      const controller = new AbortController()
      this.#controller = controller
      this.#native.onAbort(() => controller.abort(new DOMException('The client closed the connection', 'AbortError')))
    }
    return this.#controller.signal
  }
  get bodyUsed(): boolean {
    return this.#real !== undefined ? this.#real.bodyUsed : this.#bodyUsed
  }

  text(): Promise<string> {
    if (this.#real !== undefined) return this.#real.text()
    return this.#take().then((body) => body.toString('utf8'))
  }
  json(): Promise<unknown> {
    if (this.#real !== undefined) return this.#real.json()
    return this.#take().then((body) => JSON.parse(body.toString('utf8')))
  }
  arrayBuffer(): Promise<ArrayBuffer> {
    if (this.#real !== undefined) return this.#real.arrayBuffer()
    return this.#take().then((body) => new Uint8Array(body).buffer)
  }
  bytes(): Promise<Uint8Array> {
    if (this.#real !== undefined) return this.#real.bytes()
    return this.#take().then((body) => new Uint8Array(body))
  }

  /** The real Request, made once: same method, url, headers, body (as a stream) and signal. */
  real(): globalThis.Request {
    if (this.#real === undefined) {
      const native = this.#native
      const hasBody = native.hasBody && !this.#bodyUsed
      this.#real = new GlobalRequest(this.url, {
        method: native.method,
        headers: this.headers,
        signal: this.signal,
        body: hasBody ? bodyStream(native) : null,
        duplex: 'half',
      } as RequestInit)
      this.#headers = undefined
    }
    return this.#real
  }

  #take(): Promise<Buffer> {
    if (this.#bodyUsed) return Promise.reject(new TypeError('Body is unusable: Body has already been read'))
    this.#bodyUsed = true
    return this.#native.body()
  }
}

/** The native body as a one-chunk stream (the whole body is bounded by bodyBytesMax). */
function bodyStream(native: NativeRequest): ReadableStream<Uint8Array> {
  return new ReadableStream({
    async pull(controller) {
      const body = await native.body()
      if (body.length > 0) controller.enqueue(new Uint8Array(body.buffer, body.byteOffset, body.length))
      controller.close()
    },
  })
}

// Everything else is the real one's.
delegateToReal(WebRequest.prototype, GlobalRequest.prototype)
