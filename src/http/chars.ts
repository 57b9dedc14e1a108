/*
 * Byte classes of HTTP/1.1 (RFC 9110 §5.6.2, RFC 9112 §3, RFC 3986 §2), as 256-entry tables: one array
 * load per byte on the parser's hot loop.
 */

function table(accept: (byte: number) => boolean): Uint8Array {
  const classes = new Uint8Array(256)
  for (let byte = 0; byte < 256; byte++) classes[byte] = accept(byte) ? 1 : 0
  return classes
}

const isAlnum = (byte: number) =>
  (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a)

/** tchar (RFC 9110 §5.6.2): the characters of a token (method, field name, transfer coding). */
export const TOKEN = table((byte) => isAlnum(byte) || "!#$%&'*+-.^_`|~".includes(String.fromCharCode(byte)))

/**
 * Bytes of a field value (RFC 9110 §5.5): VCHAR, SP, HTAB and obs-text. Every other control character
 * (CR, LF, NUL, DEL, ...) is refused.
 */
export const FIELD_VALUE = table((byte) => byte === 0x09 || (byte >= 0x20 && byte !== 0x7f))

/**
 * Bytes we accept in a request target's query (after its "?"). RFC 3986 allows less than this, but browsers
 * send `|`, `^`, `{`, `}`, `[`, `]`, `\` and the backquote unencoded in queries (the WHATWG URL query
 * percent-encode set leaves them), so refusing them would refuse real users. We refuse what no correct
 * client sends: controls, SP, DEL, `"`, `#`, `<`, `>` and every byte over 0x7F (clients percent-encode
 * non-ASCII).
 */
export const TARGET = table((byte) => byte > 0x20 && byte < 0x7f && !'"#<>'.includes(String.fromCharCode(byte)))

/**
 * Bytes we accept in a request target's path (before "?", which ends it): those of TARGET but the
 * backslash. No browser sends one there (the WHATWG URL parser turns `\` into `/` in an http path), RFC 3986
 * has none in its grammar, and a URL parser reading the target again (`new URL()` in a fetch handler) would
 * take it for a slash, so that `/a\..\b` routes as one path here and means `/b` there (RFC 9112 §3: do not
 * autocorrect a bad target, refuse it). `%5C` is valid and passes.
 */
export const TARGET_PATH = table((byte) => TARGET[byte] === 1 && byte !== 0x5c && byte !== 0x3f)

/**
 * reg-name and IPv4 characters of a Host value (RFC 9110 §7.2, RFC 3986 §3.2.2): the colon before a port
 * and the brackets of an IP literal are judged apart.
 */
export const HOST_NAME = table((byte) => isAlnum(byte) || "-._~!$&'()*+,;=%".includes(String.fromCharCode(byte)))

export const CR = 13
export const LF = 10
export const SP = 32
export const HTAB = 9
export const COLON = 58

/** Lower-cases an ASCII letter byte; leaves every other byte as it is. */
export function lowerByte(byte: number): number {
  return byte >= 0x41 && byte <= 0x5a ? byte | 0x20 : byte
}

/** True when bytes [start, end) equal `lower` (an ASCII lower-case string), ignoring ASCII case. */
export function equalsLower(bytes: Uint8Array, start: number, end: number, lower: string): boolean {
  if (end - start !== lower.length) return false
  for (let i = 0; i < lower.length; i++) {
    if (lowerByte(bytes[start + i]!) !== lower.charCodeAt(i)) return false
  }
  return true
}

/**
 * The offset of the first LF in [from, end), or -1. A plain loop: header lines are short, and for them this
 * is several times cheaper than a call into Buffer.indexOf (measured: 6% of a pipelined hello run).
 */
export function indexOfLf(bytes: Uint8Array, from: number, end: number): number {
  for (let i = from; i < end; i++) if (bytes[i] === LF) return i
  return -1
}
