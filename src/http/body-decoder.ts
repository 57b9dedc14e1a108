/*
 * Request body framing: a fixed Content-Length, or the chunked transfer coding (RFC 9112 §6, §7.1).
 *
 * `decode()` takes whatever bytes arrived and hands each piece of body to the sink as a view of the read
 * buffer (no copy). Chunk-size lines and trailer lines may be split across reads: the decoder stops at the
 * start of an unfinished line, the caller keeps those bytes, and the next call resumes the LF search where
 * the last one ended, so a line trickling in one byte at a time costs O(n).
 *
 * Limits: the decoded body against `bodyBytesMax` (413, checked from each chunk's declared size before its
 * data arrives), each chunk-size line against `headerBytesMax`, and the trailer section against
 * `headerBytesMax` and `headerCountMax` (431), as trailers are header fields sent late.
 */
import { HttpError } from '../errors.ts'
import type { Limits } from '../limits.ts'
import { CR, HTAB, LF, SP, TOKEN } from './chars.ts'
import { checkFieldLine } from './parser.ts'

/** @internal Where decoded body bytes go (a Request). */
export interface BodySink {
  pushBody(bytes: Buffer): void
}

const State = { length: 0, sizeLine: 1, data: 2, dataEnd: 3, trailer: 4, done: 5 } as const
type State = (typeof State)[keyof typeof State]

/** At most 11 hex digits (16 TiB): enough for any body limit, and exact in a double. */
const CHUNK_SIZE_DIGITS_MAX = 11

/** @internal Decodes request bodies for ConnectionState; not part of the published API. */
export class BodyDecoder {
  readonly #limits: Limits
  #state: State = State.done
  #remaining = 0
  #total = 0
  #scanFrom = 0
  #trailerBytes = 0
  #trailerCount = 0

  constructor(limits: Limits) {
    this.#limits = limits
  }

  get done(): boolean {
    return this.#state === State.done
  }

  /** Bytes of body decoded so far. */
  get total(): number {
    return this.#total
  }

  startLength(contentLength: number): void {
    this.#total = 0
    this.#remaining = contentLength
    this.#state = contentLength > 0 ? State.length : State.done
  }

  startChunked(): void {
    this.#total = 0
    this.#scanFrom = 0
    this.#trailerBytes = 0
    this.#trailerCount = 0
    this.#state = State.sizeLine
  }

  /**
   * Decodes from `position` to the end of `bytes`.
   * @returns where it stopped: the body's end, the end of `bytes`, or the start of an unfinished line
   * @throws HttpError 400 for bad framing, 413 past bodyBytesMax, 431 for oversized trailers
   */
  decode(bytes: Buffer, position: number, sink: BodySink): number {
    const end = bytes.length
    while (position < end) {
      switch (this.#state) {
        case State.length:
        case State.data: {
          const take = Math.min(this.#remaining, end - position)
          sink.pushBody(bytes.subarray(position, position + take))
          position += take
          this.#remaining -= take
          if (this.#remaining === 0) this.#state = this.#state === State.length ? State.done : State.dataEnd
          break
        }
        case State.dataEnd:
          if (end - position < 2) return position
          if (bytes[position] !== CR || bytes[position + 1] !== LF) {
            throw new HttpError(400, 'BAD_CHUNK', 'Chunk data is not followed by CRLF')
          }
          position += 2
          this.#state = State.sizeLine
          break
        case State.sizeLine:
        case State.trailer: {
          const lf = bytes.indexOf(LF, position + this.#scanFrom)
          if (lf === -1) {
            this.#scanFrom = end - position
            this.#checkLineLength(end - position)
            return position
          }
          this.#scanFrom = 0
          this.#checkLineLength(lf + 1 - position)
          if (lf === position || bytes[lf - 1] !== CR) {
            throw new HttpError(400, 'BARE_LF', 'Line ends with a bare LF: expected CRLF (RFC 9112 §2.2)')
          }
          if (this.#state === State.sizeLine) this.#parseSizeLine(bytes, position, lf - 1)
          else this.#parseTrailerLine(bytes, position, lf - 1)
          position = lf + 1
          break
        }
        case State.done:
          return position
      }
    }
    return position
  }

  #checkLineLength(length: number): void {
    if (this.#state === State.sizeLine) {
      if (length > this.#limits.headerBytesMax) {
        throw new HttpError(400, 'BAD_CHUNK', `Chunk-size line exceeds headerBytesMax (${this.#limits.headerBytesMax} bytes)`)
      }
    } else if (this.#trailerBytes + length > this.#limits.headerBytesMax) {
      throw new HttpError(431, 'HEADERS_TOO_LARGE', `Trailer fields exceed headerBytesMax (${this.#limits.headerBytesMax} bytes)`)
    }
  }

  /** chunk = chunk-size [ chunk-ext ] CRLF; chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS value ] ). */
  #parseSizeLine(bytes: Buffer, start: number, end: number): void {
    let size = 0
    let i = start
    for (; i < end; i++) {
      const digit = hexValue(bytes[i]!)
      if (digit < 0) break
      size = size * 16 + digit
    }
    const digits = i - start
    if (digits === 0) throw new HttpError(400, 'BAD_CHUNK', 'Invalid chunk size: expected hex digits')
    if (digits > CHUNK_SIZE_DIGITS_MAX) size = Number.MAX_SAFE_INTEGER
    checkChunkExtensions(bytes, i, end)
    if (size === 0) {
      this.#state = State.trailer
      return
    }
    if (this.#total + size > this.#limits.bodyBytesMax) {
      throw new HttpError(413, 'BODY_TOO_LARGE', `Body exceeds bodyBytesMax (${this.#limits.bodyBytesMax} bytes)`)
    }
    this.#total += size
    this.#remaining = size
    this.#state = State.data
  }

  #parseTrailerLine(bytes: Buffer, start: number, end: number): void {
    this.#trailerBytes += end + 2 - start
    if (end === start) {
      this.#state = State.done
      return
    }
    if (++this.#trailerCount > this.#limits.headerCountMax) {
      throw new HttpError(431, 'TOO_MANY_HEADERS', `More than headerCountMax (${this.#limits.headerCountMax}) trailer fields`)
    }
    checkFieldLine(bytes, start, end)
  }
}

function checkChunkExtensions(bytes: Buffer, i: number, end: number): void {
  while (i < end) {
    while (i < end && isBws(bytes[i]!)) i++
    if (bytes[i] !== 0x3b /* ; */) throw badExtension()
    i++
    while (i < end && isBws(bytes[i]!)) i++
    const nameStart = i
    while (i < end && TOKEN[bytes[i]!] === 1) i++
    if (i === nameStart) throw badExtension()
    while (i < end && isBws(bytes[i]!)) i++
    if (bytes[i] !== 0x3d /* = */) continue
    i++
    while (i < end && isBws(bytes[i]!)) i++
    if (bytes[i] === 0x22 /* " */) {
      i = skipQuotedString(bytes, i, end)
    } else {
      const valueStart = i
      while (i < end && TOKEN[bytes[i]!] === 1) i++
      if (i === valueStart) throw badExtension()
    }
  }
}

/** quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE (RFC 9110 §5.6.4). @returns the offset after it */
function skipQuotedString(bytes: Buffer, i: number, end: number): number {
  for (i++; i < end; i++) {
    const byte = bytes[i]!
    if (byte === 0x22) return i + 1
    if (byte === 0x5c /* \ */) {
      i++
      if (i === end || !isQuotable(bytes[i]!)) throw badExtension()
    } else if (!isQuotable(byte)) {
      throw badExtension()
    }
  }
  throw badExtension()
}

function isQuotable(byte: number): boolean {
  return byte === HTAB || (byte >= SP && byte !== 0x7f)
}
function isBws(byte: number): boolean {
  return byte === SP || byte === HTAB
}
function hexValue(byte: number): number {
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30
  const lower = byte | 0x20
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10
  return -1
}
function badExtension(): HttpError {
  return new HttpError(400, 'BAD_CHUNK', 'Invalid chunk extension: expected ;name or ;name=value')
}
