/*
 * The request-head parser: finds the request line and the header block and records byte offsets only.
 *
 * Nothing is decoded into strings here except the method (interned from a fixed list). The few fields the
 * server itself needs to frame the message (Host, Content-Length, Transfer-Encoding, Connection, Expect) are
 * recognised by length and bytes as each line is checked, and Content-Type is checked to be one value; every
 * other value is decoded only when a handler asks for it (`Request.header()`).
 *
 * It is incremental: `parse()` is called again with the same request's bytes plus more, and resumes at the
 * first line it has not finished, so a head that arrives one byte at a time costs O(n), not O(n²). Each line
 * is checked as soon as its LF arrives, and the limits are checked on every call, so a request fails at the
 * first bad byte or the moment it passes a limit, not when it finally ends.
 *
 * Offsets are relative to `base`, the request's first byte, so the caller may move unfinished bytes to
 * another buffer between calls as long as they start at the new base.
 *
 * Strict by design (RFC 9112): CRLF line endings only (a bare LF or CR is an error, §2.2), single spaces in
 * the request line (§3), no whitespace before a field's colon and no obs-fold (§5.1, §5.2), one valid Host on
 * HTTP/1.1 (§3.2), Content-Length and Transfer-Encoding never together and chunked last (§6.1, §6.3), no
 * backslash in the target's path (§3.2, RFC 3986), one Content-Type (RFC 9110 §8.3), no content on TRACE
 * (RFC 9110 §9.3.8).
 */
import { HttpError } from '../errors.ts'
import type { Limits } from '../limits.ts'
import { COLON, CR, equalsLower, FIELD_VALUE, HOST_NAME, HTAB, indexOfLf, LF, lowerByte, SP, TARGET, TARGET_PATH, TOKEN } from './chars.ts'

/** Methods the server passes to handlers. Any other token gets 501 (RFC 9110 §9.1). */
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'TRACE', 'PATCH'] as const

/** Field slots (4 per field) of one field store before the parser starts a new one: 64 fields, 2 KiB. */
const FIELD_STORE_SLOTS = 256
/** A new field store is a copy of this one, made at its full size (filling an empty array grows it six times). */
const EMPTY_FIELD_STORE: number[] = Array.from({ length: FIELD_STORE_SLOTS }, () => 0)

/** Content-Length values longer than this cannot be under any body limit (2^40 has 13 digits). */
const CONTENT_LENGTH_DIGITS_MAX = 15

export class RequestParser {
  // Results, valid after parse() returns a length. Offsets are relative to the request's base.
  method = ''
  /** The origin-form part of the target: for absolute-form, what follows the authority (maybe empty). */
  targetStart = 0
  targetEnd = 0
  /** The authority of an absolute-form target ("http://host:port/..."), which replaces Host; -1 when none. */
  authorityStart = -1
  authorityEnd = -1
  /** 0 for HTTP/1.0, 1 for HTTP/1.1 (and 1.x, answered as 1.1: RFC 9110 §6.2). */
  versionMinor = 1
  fieldCount = 0
  /**
   * Per field: name start, name end, value start, value end (value trimmed of OWS), from `fieldsStart` on.
   * A plain array of small integers, written only forward: each Request keeps the array and where its
   * fields lie in it (no copy per request), and the parser starts a new array once this one holds
   * FIELD_STORE_SLOTS (slots of earlier requests are never written again).
   */
  fields: number[] = EMPTY_FIELD_STORE.slice()
  /** Where the current request's fields start in `fields`. */
  fieldsStart = 0
  /** -1 when absent. */
  contentLength = -1
  chunked = false
  connectionClose = false
  connectionKeepAlive = false
  /** Connection names "upgrade" (RFC 9110 §7.8): the request may ask to switch protocols. */
  connectionUpgrade = false
  expectContinue = false
  hostCount = 0

  readonly #limits: Limits
  #lineStart = 0
  #scanFrom = 0
  #requestStart = 0
  #headersStart = -1
  #methodSeen = false
  #codings = 0
  #chunkedCodings = 0
  #lastCodingChunked = false

  constructor(limits: Limits) {
    this.#limits = limits
  }

  /** Forgets the request parsed last; call before the next one. */
  reset(): void {
    this.fieldsStart += this.fieldCount * 4
    if (this.fieldsStart >= FIELD_STORE_SLOTS) {
      this.fields = EMPTY_FIELD_STORE.slice()
      this.fieldsStart = 0
    }
    this.fieldCount = 0
    this.authorityStart = -1
    this.authorityEnd = -1
    this.contentLength = -1
    this.chunked = false
    this.connectionClose = false
    this.connectionKeepAlive = false
    this.connectionUpgrade = false
    this.expectContinue = false
    this.hostCount = 0
    this.#lineStart = 0
    this.#scanFrom = 0
    this.#requestStart = 0
    this.#headersStart = -1
    this.#methodSeen = false
    this.#codings = 0
    this.#chunkedCodings = 0
    this.#lastCodingChunked = false
  }

  /** True when some bytes of a request have been seen (not counting blank lines before it). */
  get started(): boolean {
    return this.#headersStart >= 0 || this.#scanFrom > this.#requestStart
  }

  /**
   * Parses the request head that starts at `base` in `bytes` (which ends where the received bytes end).
   * @returns the head's length in bytes (through the blank line) when complete, 0 when more bytes are needed
   * @throws HttpError with the status to answer
   */
  parse(bytes: Uint8Array, base: number): number {
    const end = bytes.length
    let lineStart = base + this.#lineStart
    let position = base + this.#scanFrom
    for (;;) {
      // A whole, well-formed field line, checked as it is scanned (one pass, not three); anything else (the
      // blank line, a line not all here yet, a malformed one, a limit reached) takes the careful path below,
      // which finds the same line valid or throws the precise error.
      if (position === lineStart) {
        if (this.#headersStart >= 0) {
          // The blank line that ends the head.
          if (bytes[lineStart] === CR && lineStart + 1 < end && bytes[lineStart + 1] === LF) {
            this.#finishHead()
            return lineStart + 2 - base
          }
          const next = this.#wholeField(bytes, base, lineStart, end)
          if (next !== 0) {
            lineStart = position = next
            continue
          }
        } else {
          const next = this.#wholeRequestLine(bytes, base, lineStart, end)
          if (next !== 0) {
            this.#headersStart = next - base
            lineStart = position = next
            continue
          }
        }
      }
      const lf = indexOfLf(bytes, position, end)
      if (lf === -1) {
        this.#checkUnfinishedLine(bytes, base, lineStart, end)
        this.#lineStart = lineStart - base
        this.#scanFrom = end - base
        return 0
      }
      if (lf === lineStart || bytes[lf - 1] !== CR) {
        throw new HttpError(400, 'BARE_LF', 'Line ends with a bare LF: expected CRLF (RFC 9112 §2.2)')
      }
      const lineEnd = lf - 1
      position = lf + 1
      if (this.#headersStart < 0) {
        if (lineEnd === lineStart) {
          // RFC 9112 §2.2: ignore at least one empty line before the request line.
          if (position - base > this.#limits.requestLineBytesMax) {
            throw new HttpError(400, 'BLANK_LINES', 'Too many blank lines before the request line')
          }
          this.#requestStart = position - base
        } else {
          this.#parseRequestLine(bytes, base, lineStart, lineEnd)
          this.#headersStart = position - base
        }
      } else if (lineEnd === lineStart) {
        this.#finishHead()
        return position - base
      } else {
        if (position - base - this.#headersStart > this.#limits.headerBytesMax) this.#headersTooLarge()
        if (this.fieldCount >= this.#limits.headerCountMax) {
          throw new HttpError(431, 'TOO_MANY_HEADERS', `More than headerCountMax (${this.#limits.headerCountMax}) header fields`)
        }
        this.#parseField(bytes, base, lineStart, lineEnd)
      }
      lineStart = position
    }
  }

  #checkUnfinishedLine(bytes: Uint8Array, base: number, lineStart: number, end: number): void {
    // A CR at the end may be the start of the line's CRLF, which the limits do not count.
    const length = end - lineStart - (bytes[end - 1] === CR ? 1 : 0)
    if (this.#headersStart >= 0) {
      if (lineStart - base - this.#headersStart + length > this.#limits.headerBytesMax) this.#headersTooLarge()
      return
    }
    // Still in the request line: refuse garbage (a TLS hello, say) at once instead of waiting for a LF.
    if (!this.#methodSeen) {
      for (let i = Math.max(lineStart, base + this.#scanFrom); i < end; i++) {
        const byte = bytes[i]!
        if (byte === SP) {
          this.#methodSeen = true
          break
        }
        if (TOKEN[byte] === 0 && !(byte === CR && i === end - 1)) throw badMethod()
      }
    }
    if (length > this.#limits.requestLineBytesMax) {
      throw new HttpError(414, 'URI_TOO_LONG', `Request line exceeds requestLineBytesMax (${this.#limits.requestLineBytesMax} bytes)`)
    }
  }

  #headersTooLarge(): never {
    throw new HttpError(431, 'HEADERS_TOO_LARGE', `Header fields exceed headerBytesMax (${this.#limits.headerBytesMax} bytes)`)
  }

  /** request-line = method SP request-target SP HTTP-version (RFC 9112 §3). */
  #parseRequestLine(bytes: Uint8Array, base: number, start: number, end: number): void {
    if (end - start > this.#limits.requestLineBytesMax) {
      throw new HttpError(414, 'URI_TOO_LONG', `Request line exceeds requestLineBytesMax (${this.#limits.requestLineBytesMax} bytes)`)
    }
    let i = start
    while (i < end && TOKEN[bytes[i]!] === 1) i++
    if (i === start || i === end || bytes[i] !== SP) throw badMethod()
    const methodEnd = i
    const targetStart = ++i
    i = scanTarget(bytes, i, end)
    if (bytes[i] === 0x5c /* \ */) {
      throw new HttpError(400, 'BAD_TARGET', 'Invalid request target: a backslash in the path (RFC 3986; percent-encode it as %5C)')
    }
    if (i === targetStart || bytes[i] !== SP) {
      throw new HttpError(400, 'BAD_TARGET', 'Invalid request target: expected visible ASCII without #, <, > or ", then one space')
    }
    if (end - i - 1 !== 8 || !isVersionShape(bytes, i + 1)) throw new HttpError(400, 'BAD_VERSION', 'Invalid HTTP version: expected HTTP/1.1 or HTTP/1.0')
    this.#takeRequestLine(bytes, base, start, methodEnd, targetStart, i)
  }

  /**
   * The fast path of a request line starting at `start`, of the plain shape token SP target SP
   * "HTTP/" DIGIT "." DIGIT CRLF: its end is found by scanning its parts (no search for the LF first).
   * @returns the offset after its LF once taken, or 0 (nothing done) for anything else: the careful path
   * then finds the same line valid or throws the precise error.
   */
  #wholeRequestLine(bytes: Uint8Array, base: number, start: number, end: number): number {
    let i = start
    while (i < end && TOKEN[bytes[i]!] === 1) i++
    if (i === start || i === end || bytes[i] !== SP) return 0
    const methodEnd = i
    const targetStart = ++i
    i = scanTarget(bytes, i, end)
    const lineEnd = i + 9
    if (i === targetStart || lineEnd + 1 >= end || bytes[i] !== SP || bytes[lineEnd] !== CR || bytes[lineEnd + 1] !== LF) return 0
    if (!isVersionShape(bytes, i + 1) || lineEnd - start > this.#limits.requestLineBytesMax) return 0
    this.#takeRequestLine(bytes, base, start, methodEnd, targetStart, i)
    return lineEnd + 2
  }

  /** Records a scanned request line whose version (after `targetEnd` and a space) has the right shape. */
  #takeRequestLine(bytes: Uint8Array, base: number, start: number, methodEnd: number, targetStart: number, targetEnd: number): void {
    const version = targetEnd + 1
    if (bytes[version + 5] !== 0x31) {
      throw new HttpError(505, 'VERSION_NOT_SUPPORTED', 'HTTP version not supported: expected HTTP/1.1 or HTTP/1.0')
    }
    // HTTP/1.x for x above 1 is answered as 1.1 (RFC 9110 §6.2).
    this.versionMinor = bytes[version + 7] === 0x30 ? 0 : 1
    this.method = methodName(bytes, start, methodEnd)
    this.targetStart = targetStart - base
    this.targetEnd = targetEnd - base
    const first = bytes[targetStart]
    if (first === 0x2a /* * */) {
      // asterisk-form only for OPTIONS (RFC 9112 §3.2.4).
      if (targetEnd - targetStart !== 1 || this.method !== 'OPTIONS') {
        throw new HttpError(400, 'BAD_TARGET', 'Invalid request target: "*" is only for OPTIONS')
      }
    } else if (first !== 0x2f /* / */ && this.method !== '') {
      // (A method we do not implement gets 501 whatever its target's form: CONNECT's authority-form, say.)
      const authorityStart = absoluteFormAuthority(bytes, targetStart, targetEnd)
      if (authorityStart < 0) throw new HttpError(400, 'BAD_TARGET', 'Invalid request target: expected "/path" or an absolute URI')
      this.#parseAuthority(bytes, base, authorityStart, targetEnd)
    }
  }

  /**
   * absolute-form (RFC 9112 §3.2.2): the server MUST accept it, and the target's authority replaces Host.
   * The path and query after the authority become the target, so a handler sees the same `path` as for
   * origin-form. The authority is checked as Host is; userinfo is refused (RFC 9110 §4.2.4), and so is an
   * empty host (§4.2.1).
   */
  #parseAuthority(bytes: Uint8Array, base: number, start: number, targetEnd: number): void {
    let end = start
    while (end < targetEnd && bytes[end] !== 0x2f /* / */ && bytes[end] !== 0x3f /* ? */) end++
    if (end === start || bytes[start] === COLON) throw new HttpError(400, 'BAD_TARGET', 'Invalid request target: the absolute URI has no host')
    for (let i = start; i < end; i++) {
      if (bytes[i] === 0x40 /* @ */) throw new HttpError(400, 'BAD_TARGET', 'Invalid request target: userinfo ("user@") is not allowed (RFC 9110 §4.2.4)')
    }
    checkHost(bytes, start, end)
    this.authorityStart = start - base
    this.authorityEnd = end - base
    this.targetStart = end - base
  }

  /**
   * The fast path of a field line starting at `start`: token, colon, field-value bytes, CRLF, within the
   * limits. @returns the offset after its LF once recorded, or 0 (nothing done) for anything else
   */
  #wholeField(bytes: Uint8Array, base: number, start: number, end: number): number {
    let i = start
    while (i < end && TOKEN[bytes[i]!] === 1) i++
    if (i === start || i === end || bytes[i] !== COLON) return 0
    const colon = i
    if (colon - start === 4 && isHostName(bytes, start)) return this.#wholeHost(bytes, base, start, colon, end)
    for (i++; i < end && FIELD_VALUE[bytes[i]!] === 1; i++) {}
    if (i + 1 >= end || bytes[i] !== CR || bytes[i + 1] !== LF) return 0
    const next = i + 2
    if (next - base - this.#headersStart > this.#limits.headerBytesMax || this.fieldCount >= this.#limits.headerCountMax) return 0
    this.#recordField(bytes, base, start, colon, i)
    return next
  }

  /**
   * The fast path of the Host line, which every HTTP/1.1 request has: the value checked as a host while it
   * is scanned (one pass, not a field-value pass and then a host pass), in its common shape only: OWS,
   * reg-name or IPv4 characters, an optional ":" and digits, OWS, CRLF, and the first Host. @returns the
   * offset after its LF once recorded, or 0 (nothing done): the careful path then takes the line.
   */
  #wholeHost(bytes: Uint8Array, base: number, start: number, colon: number, end: number): number {
    let i = colon + 1
    while (i < end && isOws(bytes[i]!)) i++
    const valueStart = i
    while (i < end && HOST_NAME[bytes[i]!] === 1) i++
    if (i < end && bytes[i] === COLON) for (i++; i < end && isDigit(bytes[i]!); i++) {}
    const valueEnd = i
    while (i < end && isOws(bytes[i]!)) i++
    if (i + 1 >= end || bytes[i] !== CR || bytes[i + 1] !== LF || this.hostCount !== 0) return 0
    const next = i + 2
    if (next - base - this.#headersStart > this.#limits.headerBytesMax || this.fieldCount >= this.#limits.headerCountMax) return 0
    this.hostCount = 1
    this.#storeField(base, start, colon, valueStart, valueEnd)
    return next
  }

  #parseField(bytes: Uint8Array, base: number, start: number, end: number): void {
    this.#recordField(bytes, base, start, checkFieldLine(bytes, start, end), end)
  }

  /** Records a checked field line (name [start, colon), value to `end`) and parses the framing fields. */
  #recordField(bytes: Uint8Array, base: number, start: number, colon: number, end: number): void {
    let valueStart = colon + 1
    let valueEnd = end
    while (valueStart < valueEnd && isOws(bytes[valueStart]!)) valueStart++
    while (valueEnd > valueStart && isOws(bytes[valueEnd - 1]!)) valueEnd--
    this.#storeField(base, start, colon, valueStart, valueEnd)
    // The framing fields, recognised by name length first: most lines fail that compare.
    switch (colon - start) {
      case 4:
        if (equalsLower(bytes, start, colon, 'host')) this.#parseHost(bytes, valueStart, valueEnd)
        break
      case 6:
        if (equalsLower(bytes, start, colon, 'expect')) this.#parseExpect(bytes, valueStart, valueEnd)
        break
      case 10:
        if (equalsLower(bytes, start, colon, 'connection')) this.#parseConnection(bytes, valueStart, valueEnd)
        break
      case 12:
        if (isContentTypeName(bytes, start)) this.#parseContentType(bytes, base, valueStart, valueEnd)
        break
      case 14:
        if (equalsLower(bytes, start, colon, 'content-length')) this.#parseContentLength(bytes, valueStart, valueEnd)
        break
      case 17:
        if (equalsLower(bytes, start, colon, 'transfer-encoding')) this.#parseTransferEncoding(bytes, valueStart, valueEnd)
        break
    }
  }

  /** Appends a field's four offsets (relative to `base`) to the store. */
  #storeField(base: number, start: number, colon: number, valueStart: number, valueEnd: number): void {
    const slot = this.fieldsStart + this.fieldCount++ * 4
    const fields = this.fields
    fields[slot] = start - base
    fields[slot + 1] = colon - base
    fields[slot + 2] = valueStart - base
    fields[slot + 3] = valueEnd - base
  }

  /** Host = uri-host [ ":" port ] (RFC 9110 §7.2); empty is allowed (RFC 9112 §3.2). */
  #parseHost(bytes: Uint8Array, start: number, end: number): void {
    if (++this.hostCount > 1) throw new HttpError(400, 'MULTIPLE_HOST', 'More than one Host header field (RFC 9112 §3.2)')
    checkHost(bytes, start, end)
  }

  /**
   * Content-Type = media-type, a singleton field (RFC 9110 §8.3): a second field line, or a comma outside a
   * quoted parameter value (two values on one line, or two lines joined), is refused, since "recipients often
   * attempt to handle this error by using the last syntactically valid member of the list", and a proxy
   * that takes the first would read the body as another type than the handler does. Not a framing field,
   * but a request has at most one, so finding an earlier one by walking back over this request's fields
   * costs only the requests that have it (state of its own would cost every request a reset).
   */
  #parseContentType(bytes: Uint8Array, base: number, start: number, end: number): void {
    for (let i = start; i < end; i++) {
      const byte = bytes[i]!
      if (byte === 0x2c /* , */) throw multipleContentTypes()
      // A quoted-string: skipped to its closing quote, a quoted-pair's byte as data.
      if (byte === 0x22 /* " */) for (i++; i < end && bytes[i] !== 0x22; i++) if (bytes[i] === 0x5c /* \ */) i++
    }
    const fields = this.fields
    const last = this.fieldsStart + (this.fieldCount - 1) * 4
    for (let slot = this.fieldsStart; slot < last; slot += 4) {
      const name = base + fields[slot]!
      if (base + fields[slot + 1]! - name === 12 && isContentTypeName(bytes, name)) throw multipleContentTypes()
    }
  }

  /** Content-Length = 1*DIGIT; a list of identical values is one value (RFC 9110 §8.6). */
  #parseContentLength(bytes: Uint8Array, start: number, end: number): void {
    if (this.#codings > 0) throw bothLengths()
    let i = start
    do {
      let value = 0
      const digitsStart = i
      while (i < end && isDigit(bytes[i]!)) value = value * 10 + bytes[i++]! - 0x30
      const digits = i - digitsStart
      if (digits === 0) throw new HttpError(400, 'BAD_CONTENT_LENGTH', 'Invalid Content-Length: expected digits')
      if (digits > CONTENT_LENGTH_DIGITS_MAX) value = Number.MAX_SAFE_INTEGER
      if (this.contentLength >= 0 && this.contentLength !== value) {
        throw new HttpError(400, 'BAD_CONTENT_LENGTH', 'Differing Content-Length values (RFC 9112 §6.3)')
      }
      this.contentLength = value
      while (i < end && isOws(bytes[i]!)) i++
      if (i === end) break
      if (bytes[i] !== 0x2c /* , */) throw new HttpError(400, 'BAD_CONTENT_LENGTH', 'Invalid Content-Length: expected digits')
      i++
      while (i < end && isOws(bytes[i]!)) i++
    } while (true)
    if (this.contentLength > 0 && this.method === 'TRACE') throw traceWithContent()
  }

  /** Transfer-Encoding = #transfer-coding; chunked must come last, once (RFC 9112 §6.1, §7). */
  #parseTransferEncoding(bytes: Uint8Array, start: number, end: number): void {
    if (this.contentLength >= 0) throw bothLengths()
    if (this.method === 'TRACE') throw traceWithContent()
    let i = start
    let any = false
    while (i < end) {
      const codingStart = i
      while (i < end && TOKEN[bytes[i]!] === 1) i++
      const codingEnd = i
      while (i < end && isOws(bytes[i]!)) i++
      if (codingEnd > codingStart) {
        any = true
        this.#codings++
        this.#lastCodingChunked = equalsLower(bytes, codingStart, codingEnd, 'chunked')
        if (this.#lastCodingChunked) this.#chunkedCodings++
        // Parameters (";q=1") only belong to codings we do not implement anyway: skip to the next comma.
        if (bytes[i] === 0x3b /* ; */) {
          if (this.#lastCodingChunked) throw new HttpError(400, 'BAD_TRANSFER_ENCODING', 'The chunked coding takes no parameters')
          while (i < end && bytes[i] !== 0x2c) i++
        }
      }
      if (i < end && bytes[i] !== 0x2c /* , */) {
        throw new HttpError(400, 'BAD_TRANSFER_ENCODING', 'Invalid Transfer-Encoding: expected a list of codings')
      }
      i++
      while (i < end && isOws(bytes[i]!)) i++
    }
    if (!any) throw new HttpError(400, 'BAD_TRANSFER_ENCODING', 'Empty Transfer-Encoding')
  }

  #parseConnection(bytes: Uint8Array, start: number, end: number): void {
    let i = start
    while (i < end) {
      const tokenStart = i
      while (i < end && bytes[i] !== 0x2c) i++
      let tokenEnd = i
      let s = tokenStart
      while (s < tokenEnd && isOws(bytes[s]!)) s++
      while (tokenEnd > s && isOws(bytes[tokenEnd - 1]!)) tokenEnd--
      if (equalsLower(bytes, s, tokenEnd, 'close')) this.connectionClose = true
      else if (equalsLower(bytes, s, tokenEnd, 'keep-alive')) this.connectionKeepAlive = true
      else if (equalsLower(bytes, s, tokenEnd, 'upgrade')) this.connectionUpgrade = true
      i++
    }
  }

  #parseExpect(bytes: Uint8Array, start: number, end: number): void {
    // RFC 9110 §10.1.1: 100-continue is the only expectation; any other gets 417.
    if (!equalsLower(bytes, start, end, '100-continue')) {
      throw new HttpError(417, 'EXPECTATION_FAILED', 'Unsupported expectation: only 100-continue is known')
    }
    this.expectContinue = true
  }

  #finishHead(): void {
    if (this.versionMinor === 1 && this.hostCount === 0) {
      throw new HttpError(400, 'MISSING_HOST', 'Missing Host header field (required in HTTP/1.1, RFC 9112 §3.2)')
    }
    if (this.#codings > 0) {
      // RFC 9112 §6.1: Transfer-Encoding in HTTP/1.0 cannot be trusted to frame the message.
      if (this.versionMinor === 0) throw new HttpError(400, 'BAD_TRANSFER_ENCODING', 'Transfer-Encoding in an HTTP/1.0 request')
      if (!this.#lastCodingChunked) {
        throw new HttpError(400, 'BAD_TRANSFER_ENCODING', 'Transfer-Encoding must end with chunked (RFC 9112 §6.3)')
      }
      if (this.#chunkedCodings > 1) throw new HttpError(400, 'BAD_TRANSFER_ENCODING', 'The chunked coding is applied twice')
      if (this.#codings > 1) throw new HttpError(501, 'UNSUPPORTED_TRANSFER_ENCODING', 'Only the chunked transfer coding is implemented')
      this.chunked = true
    }
    if (this.method === '') throw new HttpError(501, 'METHOD_NOT_IMPLEMENTED', 'Method not implemented')
  }
}

/**
 * Checks one field line (name ":" OWS value OWS) between `start` and `end` (its CRLF excluded).
 * @returns the offset of the colon
 * @throws HttpError 400 for obs-fold, whitespace before the colon, a bad name character or a control byte
 */
export function checkFieldLine(bytes: Uint8Array, start: number, end: number): number {
  const first = bytes[start]!
  if (first === SP || first === HTAB) {
    throw new HttpError(400, 'OBS_FOLD', 'Line folding (obs-fold) is not accepted (RFC 9112 §5.2)')
  }
  let i = start
  while (i < end && TOKEN[bytes[i]!] === 1) i++
  if (i === end || bytes[i] !== COLON) {
    const byte = bytes[i]
    const why = byte === SP || byte === HTAB ? 'whitespace before the colon (RFC 9112 §5.1)' : 'expected a token, then ":"'
    throw new HttpError(400, 'BAD_FIELD_NAME', `Invalid header field name: ${why}`)
  }
  if (i === start) throw new HttpError(400, 'BAD_FIELD_NAME', 'Empty header field name')
  const colon = i
  for (i++; i < end; i++) {
    if (FIELD_VALUE[bytes[i]!] === 0) {
      throw new HttpError(400, 'BAD_FIELD_VALUE', 'Invalid character in a header field value (control byte)')
    }
  }
  return colon
}

/** The interned method name, or '' for a valid token we do not implement (answered 501 once the head ends). */
function methodName(bytes: Uint8Array, start: number, end: number): string {
  // GET first: most requests are, and this spares them the loop.
  if (end - start === 3 && bytes[start] === 0x47 && bytes[start + 1] === 0x45 && bytes[start + 2] === 0x54) return 'GET'
  for (const method of METHODS) {
    if (end - start !== method.length) continue
    let same = true
    for (let i = 0; i < method.length; i++) {
      if (bytes[start + i] !== method.charCodeAt(i)) {
        same = false
        break
      }
    }
    if (same) return method
  }
  return ''
}

/**
 * absolute-form: scheme ":" "//" authority ..., scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )
 * (RFC 3986 §3.1). @returns where the authority starts, or -1 when the target is not of this form
 */
function absoluteFormAuthority(bytes: Uint8Array, start: number, end: number): number {
  let i = start
  if (!isAlpha(bytes[i]!)) return -1
  while (i < end && (isAlpha(bytes[i]!) || isDigit(bytes[i]!) || bytes[i] === 0x2b || bytes[i] === 0x2d || bytes[i] === 0x2e)) i++
  return bytes[i] === COLON && bytes[i + 1] === 0x2f && bytes[i + 2] === 0x2f ? i + 3 : -1
}

/** uri-host [ ":" port ]: a reg-name or IPv4 address, or an IP literal in brackets; the port all digits. */
function checkHost(bytes: Uint8Array, start: number, end: number): void {
  let portStart = -1
  let i = start
  if (bytes[i] === 0x5b /* [ */) {
    while (i < end && bytes[i] !== 0x5d /* ] */) i++
    if (i === end) throw badHost()
    i++
    if (i < end && bytes[i] !== COLON) throw badHost()
  }
  for (; i < end; i++) {
    const byte = bytes[i]!
    if (HOST_NAME[byte] === 1) continue
    if (byte !== COLON) throw badHost()
    // The port: digits only, so a second colon is refused there too.
    portStart = i + 1
    break
  }
  if (portStart >= 0) {
    for (let p = portStart; p < end; p++) if (!isDigit(bytes[p]!)) throw badHost()
  }
}

function badMethod(): HttpError {
  return new HttpError(400, 'BAD_METHOD', 'Invalid request line: expected a method token, then one space')
}
function badHost(): HttpError {
  return new HttpError(400, 'BAD_HOST', 'Invalid Host header field: expected host[:port]')
}
function multipleContentTypes(): HttpError {
  return new HttpError(400, 'MULTIPLE_CONTENT_TYPE', 'More than one Content-Type: it is a singleton field (RFC 9110 §8.3)')
}
/**
 * "A client MUST NOT send content in a TRACE request" (RFC 9110 §9.3.8). Content-Length: 0 is no content
 * and passes; Transfer-Encoding announces content of a length not known yet, so it is refused at once.
 */
function traceWithContent(): HttpError {
  return new HttpError(400, 'TRACE_WITH_CONTENT', 'TRACE with content: a client must not send any (RFC 9110 §9.3.8)')
}
function bothLengths(): HttpError {
  return new HttpError(400, 'CONTENT_LENGTH_AND_TRANSFER_ENCODING', 'Both Content-Length and Transfer-Encoding (RFC 9112 §6.3)')
}
/**
 * The end of a request target that starts at `start`: path bytes up to a "?", then query bytes (which
 * admit more: ./chars.ts). The caller judges the byte it stopped at (a space, or what is refused).
 */
function scanTarget(bytes: Uint8Array, start: number, end: number): number {
  let i = start
  while (i < end && TARGET_PATH[bytes[i]!] === 1) i++
  if (i < end && bytes[i] === 0x3f /* ? */) for (i++; i < end && TARGET[bytes[i]!] === 1; i++) {}
  return i
}
/** HTTP-version = "HTTP" "/" DIGIT "." DIGIT, case-sensitive (RFC 9112 §2.3), at `start`. */
function isVersionShape(bytes: Uint8Array, start: number): boolean {
  return (
    bytes[start] === 0x48 && bytes[start + 1] === 0x54 && bytes[start + 2] === 0x54 && bytes[start + 3] === 0x50 &&
    bytes[start + 4] === 0x2f && isDigit(bytes[start + 5]!) && bytes[start + 6] === 0x2e && isDigit(bytes[start + 7]!)
  )
}
/** The four bytes at `start` spell "host" in any case. */
function isHostName(bytes: Uint8Array, start: number): boolean {
  return (bytes[start]! | 0x20) === 0x68 && (bytes[start + 1]! | 0x20) === 0x6f && (bytes[start + 2]! | 0x20) === 0x73 && (bytes[start + 3]! | 0x20) === 0x74
}
/**
 * The twelve bytes at `start` spell "content-type" in any case: one OR and compare per byte, cheaper than
 * equalsLower() on a line most POSTs have (measured: about 25 ns less on a POST head of about 250 ns). Only for name bytes, which
 * are tokens: `| 0x20` maps no other token byte onto a letter or "-".
 */
function isContentTypeName(bytes: Uint8Array, start: number): boolean {
  return (
    (bytes[start]! | 0x20) === 0x63 && (bytes[start + 1]! | 0x20) === 0x6f && (bytes[start + 2]! | 0x20) === 0x6e &&
    (bytes[start + 3]! | 0x20) === 0x74 && (bytes[start + 4]! | 0x20) === 0x65 && (bytes[start + 5]! | 0x20) === 0x6e &&
    (bytes[start + 6]! | 0x20) === 0x74 && bytes[start + 7] === 0x2d && (bytes[start + 8]! | 0x20) === 0x74 &&
    (bytes[start + 9]! | 0x20) === 0x79 && (bytes[start + 10]! | 0x20) === 0x70 && (bytes[start + 11]! | 0x20) === 0x65
  )
}
function isDigit(byte: number): boolean {
  return byte >= 0x30 && byte <= 0x39
}
function isAlpha(byte: number): boolean {
  const lower = lowerByte(byte)
  return lower >= 0x61 && lower <= 0x7a
}
function isOws(byte: number): boolean {
  return byte === SP || byte === HTAB
}
