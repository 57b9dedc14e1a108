/*
 * Drives RequestParser and BodyDecoder the way a connection does (unfinished bytes carried to the next
 * read), without a socket, so a test can feed one message at every split point.
 */
import { HttpError } from '../../src/errors.ts'
import { BodyDecoder } from '../../src/http/body-decoder.ts'
import { RequestParser } from '../../src/http/parser.ts'
import { Request } from '../../src/http/request.ts'
import { resolveLimits, type Limits } from '../../src/limits.ts'

export interface Parsed {
  method: string
  url: string
  version: string
  headers: [string, string][]
  body: string
}

export interface FeedResult {
  requests: Parsed[]
  /** The error's status and code, when the bytes were refused. */
  error?: { status: number; code: string }
  /** True when the last request is still waiting for bytes. */
  incomplete: boolean
}

const owner = { continueRequested() {}, remoteAddress: undefined, remotePort: undefined }

/** Feeds `pieces` one read at a time. */
export function feed(pieces: readonly Buffer[], limits: Limits = resolveLimits()): FeedResult {
  const parser = new RequestParser(limits)
  const decoder = new BodyDecoder(limits)
  const requests: Parsed[] = []
  let held = Buffer.alloc(0)
  let bodyOf: Request | null = null
  let current: Parsed | null = null
  try {
    for (const piece of pieces) {
      const buffer = held.length === 0 ? piece : Buffer.concat([held, piece])
      let position = 0
      while (position < buffer.length) {
        if (bodyOf !== null) {
          position = decoder.decode(buffer, position, bodyOf)
          if (!decoder.done) break
          const request = bodyOf
          const parsed = current!
          bodyOf = null
          request.endBody()
          void request.text().then((text) => (parsed.body = text))
          continue
        }
        const length = parser.parse(buffer, position)
        if (length === 0) break
        const request = new Request(buffer, position, parser, owner)
        current = { method: request.method, url: request.url, version: request.httpVersion, headers: request.headers(), body: '' }
        requests.push(current)
        if (parser.contentLength > limits.bodyBytesMax) {
          throw new HttpError(413, 'BODY_TOO_LARGE', 'too large')
        }
        if (request.hasBody) {
          bodyOf = request
          if (parser.chunked) decoder.startChunked()
          else decoder.startLength(parser.contentLength)
        }
        parser.reset()
        position += length
      }
      held = Buffer.from(buffer.subarray(position))
    }
  } catch (error) {
    if (!(error instanceof HttpError)) throw error
    return { requests, error: { status: error.status, code: error.code }, incomplete: false }
  }
  return { requests, incomplete: held.length > 0 || bodyOf !== null || parser.started }
}

/** Every way to cut `bytes` that a test should try: whole, each split in two, and one byte at a time. */
export function* splits(bytes: Buffer): Generator<Buffer[]> {
  yield [bytes]
  for (let cut = 1; cut < bytes.length; cut++) yield [bytes.subarray(0, cut), bytes.subarray(cut)]
  yield Array.from(bytes, (byte) => Buffer.from([byte]))
}

/** Waits for the body promises `feed` started. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}
