/*
 * Reads a PROXY protocol header, version 1 or 2 (HAProxy's proxy-protocol.txt), from the bytes a
 * connection has received so far: answers `more` (a valid prefix, wait), `done` (the header and how many
 * bytes it took), or `error` (a reason; the connection must be closed).
 *
 * Incremental by re-reading: the stage chain (src/tcp/stages.ts) shows a stage every byte not yet consumed,
 * from the first, each time more arrive, so this is a pure function of the prefix, with no state between
 * calls. That costs little because nothing is parsed twice in earnest: a v1 line is at most 107 bytes (so a
 * peer sending one byte at a time costs at most 107 · 107 / 2 byte checks), and a v2 header is parsed only
 * once all of it is there; until then only its 16-byte prefix is checked. The answer is `error` as soon as
 * the prefix cannot begin a valid header: the first byte that differs from both signatures, a v1 line
 * that reaches 107 bytes without CRLF, a v2 length past `proxyHeaderBytesMax` (known from byte 16, before
 * the rest arrives).
 *
 * The two versions are told apart by their first byte ('P' or CR), then their whole signatures; the spec
 * (§2) forbids guessing whether a header is there at all, so bytes that match neither are an error, never
 * HTTP.
 *
 *   v2:  0                   12      13      14      16               16 + len
 *        ┌───────────────────┬───────┬───────┬───────┬────────────────┬──────────────┐
 *        │ \r\n\r\n\0\r\nQUIT\n │ver|cmd│fam|trp│ len BE│ addresses      │ TLVs         │
 *        └───────────────────┴───────┴───────┴───────┴────────────────┴──────────────┘
 *        addresses: INET 4+4+2+2, INET6 16+16+2+2, UNIX 108+108, UNSPEC 0
 *        TLV: type (1) │ length BE (2) │ value
 */
import { proxyLimitSpecs } from '../limits.ts'
import { crc32c } from './crc32c.ts'
import { canonicalIp, formatIpv4, formatIpv6, parseIpv4 } from './ip-address.ts'
import type { ProxyEndpoint, ProxyHeader, ProxyHeaderErrorCode, ProxyHeaderRead, ProxySsl, ProxyTlv, ProxyTlvs } from './types.ts'

/** The longest v1 header, CRLF included (proxy-protocol.txt §2.1: "PROXY UNKNOWN" + two IPv6 + two ports). */
export const PROXY_V1_BYTES_MAX = 107

/** The 12 bytes every v2 header begins with. */
export const PROXY_V2_SIGNATURE = Uint8Array.of(0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a)
const V1_PREFIX = Uint8Array.from(Buffer.from('PROXY ', 'latin1'))
const MORE: ProxyHeaderRead = Object.freeze({ state: 'more' })
const NO_TLVS: ProxyTlvs = Object.freeze({ others: Object.freeze([]) })
const utf8 = new TextDecoder('utf-8', { fatal: true })

function fail(code: ProxyHeaderErrorCode, reason: string): ProxyHeaderRead {
  return { state: 'error', code, reason }
}

/**
 * Reads a PROXY header from the start of `bytes` (everything received so far).
 * @param headerBytesMax the longest v2 header accepted, prefix included (`proxyHeaderBytesMax`)
 * @example
 * readProxyHeader(Buffer.from('PROXY TCP4 203.0.113.7 10.0.0.1 51234 80\r\nGET / HTTP/1.1\r\n'))
 * // { state: 'done', consumed: 42, header: { version: 1, command: 'proxy', source: { address: '203.0.113.7', port: 51234 }, ... } }
 */
export function readProxyHeader(bytes: Uint8Array, headerBytesMax: number = proxyLimitSpecs.proxyHeaderBytesMax.value): ProxyHeaderRead {
  if (bytes.length === 0) return MORE
  if (bytes[0] === 0x50) return readV1(bytes)
  if (bytes[0] === 0x0d) return readV2(bytes, headerBytesMax)
  return fail('NOT_PROXY', `Expected a PROXY protocol header, got byte 0x${bytes[0]!.toString(16).padStart(2, '0')} first`)
}

// Version 1: one line of text (§2.1).

function readV1(bytes: Uint8Array): ProxyHeaderRead {
  const checked = Math.min(bytes.length, V1_PREFIX.length)
  for (let i = 0; i < checked; i++) {
    if (bytes[i] !== V1_PREFIX[i]) return fail('NOT_PROXY', 'Expected a PROXY protocol header, got bytes that begin neither "PROXY " nor the v2 signature')
  }
  const scanned = Math.min(bytes.length, PROXY_V1_BYTES_MAX)
  let lf = -1
  for (let i = V1_PREFIX.length; i < scanned; i++) {
    const byte = bytes[i]!
    if (byte === 0x0a) { lf = i; break }
    // Printable US-ASCII only, and CR only right before LF.
    if (byte === 0x0d ? i + 1 < bytes.length && bytes[i + 1] !== 0x0a : byte < 0x20 || byte > 0x7e) {
      return fail('V1_MALFORMED', `Expected printable text and CRLF in a PROXY v1 header, got byte 0x${byte.toString(16).padStart(2, '0')} at ${i}`)
    }
  }
  if (lf === -1) {
    if (bytes.length >= PROXY_V1_BYTES_MAX) return fail('V1_TOO_LONG', `Expected a PROXY v1 header within ${PROXY_V1_BYTES_MAX} bytes, got no CRLF in them`)
    return MORE
  }
  if (bytes[lf - 1] !== 0x0d) return fail('V1_MALFORMED', 'Expected CRLF at the end of a PROXY v1 header, got a bare LF')
  const line = Buffer.from(bytes.buffer, bytes.byteOffset + V1_PREFIX.length, lf - 1 - V1_PREFIX.length).toString('latin1')
  const parsed = parseV1Line(line)
  if (typeof parsed === 'string') return fail('V1_MALFORMED', parsed)
  return { state: 'done', consumed: lf + 1, header: parsed }
}

const PORT = /^(?:0|[1-9][0-9]{0,4})$/

function parseV1Line(line: string): ProxyHeader | string {
  // "UNKNOWN" may be followed by anything, which the receiver must ignore (§2.1).
  if (line === 'UNKNOWN' || line.startsWith('UNKNOWN ')) {
    return { version: 1, command: 'proxy', family: 'unspec', transport: 'unspec', source: undefined, destination: undefined, tlvs: NO_TLVS }
  }
  const fields = line.split(' ')
  if (fields.length !== 5) return `Expected "PROXY TCP4|TCP6|UNKNOWN source destination source-port destination-port", got "${line.slice(0, 60)}"`
  const [protocol, source, destination, sourcePort, destinationPort] = fields as [string, string, string, string, string]
  if (protocol !== 'TCP4' && protocol !== 'TCP6') return `Expected TCP4, TCP6 or UNKNOWN in a PROXY v1 header, got "${protocol.slice(0, 16)}"`
  const parse = protocol === 'TCP4' ? (text: string) => (parseIpv4(text) === undefined ? undefined : text) : parseIpv6Text
  const sourceAddress = parse(source)
  const destinationAddress = parse(destination)
  if (sourceAddress === undefined || destinationAddress === undefined) {
    return `Expected two ${protocol === 'TCP4' ? 'IPv4' : 'IPv6'} addresses after ${protocol}, got "${source.slice(0, 45)}" and "${destination.slice(0, 45)}"`
  }
  if (!PORT.test(sourcePort) || !PORT.test(destinationPort) || Number(sourcePort) > 65535 || Number(destinationPort) > 65535) {
    return `Expected ports from 0 to 65535 without leading zeros, got "${sourcePort.slice(0, 8)}" and "${destinationPort.slice(0, 8)}"`
  }
  return {
    version: 1,
    command: 'proxy',
    family: protocol === 'TCP4' ? 'inet' : 'inet6',
    transport: 'stream',
    source: { address: sourceAddress, port: Number(sourcePort) },
    destination: { address: destinationAddress, port: Number(destinationPort) },
    tlvs: NO_TLVS,
  }
}

function parseIpv6Text(text: string): string | undefined {
  // An IPv4 address is not an IPv6 one, though canonicalIp() takes both.
  if (!text.includes(':')) return undefined
  return canonicalIp(text)
}

// Version 2: binary (§2.2).

const FAMILIES = ['unspec', 'inet', 'inet6', 'unix'] as const
const TRANSPORTS = ['unspec', 'stream', 'dgram'] as const
const ADDRESS_BYTES = { unspec: 0, inet: 12, inet6: 36, unix: 216 } as const

function readV2(bytes: Uint8Array, headerBytesMax: number): ProxyHeaderRead {
  const checked = Math.min(bytes.length, PROXY_V2_SIGNATURE.length)
  for (let i = 0; i < checked; i++) {
    if (bytes[i] !== PROXY_V2_SIGNATURE[i]) return fail('NOT_PROXY', 'Expected a PROXY protocol header, got bytes that begin neither "PROXY " nor the v2 signature')
  }
  if (bytes.length > 12) {
    if (bytes[12]! >> 4 !== 2) return fail('V2_BAD_VERSION', `Expected PROXY protocol version 2 after the v2 signature, got ${bytes[12]! >> 4}`)
    if ((bytes[12]! & 0x0f) > 1) return fail('V2_BAD_COMMAND', `Expected the LOCAL (0) or PROXY (1) command, got ${bytes[12]! & 0x0f}`)
  }
  if (bytes.length > 13 && (bytes[13]! >> 4 > 3 || (bytes[13]! & 0x0f) > 2)) {
    return fail('V2_BAD_FAMILY', `Expected an address family 0-3 and transport 0-2, got 0x${bytes[13]!.toString(16).padStart(2, '0')}`)
  }
  if (bytes.length < 16) return MORE
  const total = 16 + ((bytes[14]! << 8) | bytes[15]!)
  if (total > headerBytesMax) return fail('V2_TOO_LONG', `Expected a PROXY v2 header of at most proxyHeaderBytesMax (${headerBytesMax} bytes), got one of ${total}`)
  if (bytes.length < total) return MORE
  const command = (bytes[12]! & 0x0f) === 1 ? 'proxy' : 'local'
  const family = FAMILIES[bytes[13]! >> 4]!
  const transport = TRANSPORTS[bytes[13]! & 0x0f]!
  // LOCAL: the proxy speaks for itself; the block is discarded whole, whatever its length, as HAProxy does
  // (§2.2: "the receiver must accept this connection as valid and must use the real connection endpoints and
  // discard the protocol block including the family"). UNSPEC and a transport other than STREAM: the
  // addresses are not ours to use, and are discarded the same way.
  if (command === 'local' || family === 'unspec' || transport !== 'stream') {
    return { state: 'done', consumed: total, header: { version: 2, command, family, transport, source: undefined, destination: undefined, tlvs: NO_TLVS } }
  }
  const addressBytes = ADDRESS_BYTES[family]
  if (total - 16 < addressBytes) return fail('V2_SHORT_ADDRESS', `Expected at least ${addressBytes} address bytes for ${family}, got ${total - 16}`)
  let source: ProxyEndpoint
  let destination: ProxyEndpoint
  const view = new DataView(bytes.buffer, bytes.byteOffset, total)
  if (family === 'inet') {
    source = { address: formatIpv4(bytes, 16), port: view.getUint16(24) }
    destination = { address: formatIpv4(bytes, 20), port: view.getUint16(26) }
  } else if (family === 'inet6') {
    source = { address: formatIpv6(bytes, 16), port: view.getUint16(48) }
    destination = { address: formatIpv6(bytes, 32), port: view.getUint16(50) }
  } else {
    source = { path: unixPath(bytes, 16) }
    destination = { path: unixPath(bytes, 124) }
  }
  const tlvs = readTlvs(bytes, 16 + addressBytes, total)
  if ('code' in tlvs) return fail(tlvs.code, tlvs.reason)
  return { state: 'done', consumed: total, header: { version: 2, command, family, transport, source, destination, tlvs } }
}

/** A sun_path: 108 bytes, the path ends at the first NUL (an abstract socket's leading NUL is kept as "@"). */
function unixPath(bytes: Uint8Array, at: number): string {
  const abstract = bytes[at] === 0
  let end = at + 1
  while (end < at + 108 && bytes[end] !== 0) end++
  const path = Buffer.from(bytes.buffer, bytes.byteOffset + at + (abstract ? 1 : 0), end - at - (abstract ? 1 : 0)).toString('utf8')
  return abstract ? (path === '' ? '' : `@${path}`) : path
}

type TlvFailure = { readonly code: ProxyHeaderErrorCode; readonly reason: string }

const TLV_NAMES: Record<number, string> = { 0x01: 'ALPN', 0x02: 'AUTHORITY', 0x03: 'CRC32C', 0x05: 'UNIQUE_ID', 0x20: 'SSL', 0x30: 'NETNS' }

function readTlvs(bytes: Uint8Array, start: number, end: number): ProxyTlvs | TlvFailure {
  const tlvs: { -readonly [K in keyof ProxyTlvs]: ProxyTlvs[K] } = { others: [] }
  const others: ProxyTlv[] = []
  const seen = new Set<number>()
  let at = start
  while (at < end) {
    if (end - at < 3) return { code: 'V2_BAD_TLV', reason: `Expected a TLV of at least 3 bytes at ${at}, got ${end - at}` }
    const type = bytes[at]!
    const length = (bytes[at + 1]! << 8) | bytes[at + 2]!
    const value = bytes.subarray(at + 3, at + 3 + length)
    if (at + 3 + length > end) return { code: 'V2_BAD_TLV', reason: `Expected TLV 0x${type.toString(16)} of ${length} bytes to end within the header, it runs ${at + 3 + length - end} past` }
    // One of each known type: two components that pick the first and the last of a pair would disagree.
    if (TLV_NAMES[type] !== undefined) {
      if (seen.has(type)) return { code: 'V2_BAD_TLV', reason: `Expected one ${TLV_NAMES[type]} TLV, got a second` }
      seen.add(type)
    }
    switch (type) {
      case 0x01: tlvs.alpn = latin1(value); break
      case 0x02: {
        try { tlvs.authority = utf8.decode(value) } catch { return { code: 'V2_BAD_TLV', reason: 'Expected UTF-8 in the AUTHORITY TLV' } }
        break
      }
      case 0x03: {
        if (length !== 4) return { code: 'V2_BAD_TLV', reason: `Expected a CRC32C TLV of 4 bytes, got ${length}` }
        const expected = ((value[0]! << 24) | (value[1]! << 16) | (value[2]! << 8) | value[3]!) >>> 0
        // The checksum covers the whole header with its own 4 bytes as zeros (§2.2.4).
        const copy = Uint8Array.from(bytes.subarray(0, end))
        copy.fill(0, at + 3, at + 7)
        const actual = crc32c(copy)
        if (actual !== expected) return { code: 'V2_BAD_CRC32C', reason: `Expected the header's CRC32C to be 0x${expected.toString(16)}, computed 0x${actual.toString(16)}` }
        tlvs.crc32c = expected
        break
      }
      case 0x04: break // PP2_TYPE_NOOP: padding, ignored
      case 0x05: {
        if (length > 128) return { code: 'V2_BAD_TLV', reason: `Expected a UNIQUE_ID TLV of at most 128 bytes, got ${length}` }
        tlvs.uniqueId = Uint8Array.from(value)
        break
      }
      case 0x20: {
        const ssl = readSsl(value)
        if ('code' in ssl) return ssl
        tlvs.ssl = ssl
        break
      }
      case 0x30: tlvs.netns = latin1(value); break
      default: others.push({ type, value: Uint8Array.from(value) })
    }
    at += 3 + length
  }
  tlvs.others = others
  return tlvs
}

function readSsl(value: Uint8Array): ProxySsl | TlvFailure {
  if (value.length < 5) return { code: 'V2_BAD_TLV', reason: `Expected an SSL TLV of at least 5 bytes (client, verify), got ${value.length}` }
  const client = value[0]!
  const ssl: { -readonly [K in keyof ProxySsl]: ProxySsl[K] } = {
    ssl: (client & 0x01) !== 0,
    certificateOnConnection: (client & 0x02) !== 0,
    certificateInSession: (client & 0x04) !== 0,
    verify: ((value[1]! << 24) | (value[2]! << 16) | (value[3]! << 8) | value[4]!) >>> 0,
    others: [],
  }
  const others: ProxyTlv[] = []
  const seen = new Set<number>()
  let at = 5
  while (at < value.length) {
    if (value.length - at < 3) return { code: 'V2_BAD_TLV', reason: `Expected an SSL sub-TLV of at least 3 bytes, got ${value.length - at}` }
    const type = value[at]!
    const length = (value[at + 1]! << 8) | value[at + 2]!
    if (at + 3 + length > value.length) return { code: 'V2_BAD_TLV', reason: `Expected SSL sub-TLV 0x${type.toString(16)} of ${length} bytes to end within the SSL TLV` }
    const text = latin1(value.subarray(at + 3, at + 3 + length))
    if (type >= 0x21 && type <= 0x25) {
      if (seen.has(type)) return { code: 'V2_BAD_TLV', reason: `Expected one SSL sub-TLV 0x${type.toString(16)}, got a second` }
      seen.add(type)
    }
    switch (type) {
      case 0x21: ssl.version = text; break
      // A certificate's CN is UTF-8 (RFC 5280's UTF8String); a bad byte becomes U+FFFD, never an error.
      case 0x22: ssl.commonName = Buffer.from(value.buffer, value.byteOffset + at + 3, length).toString('utf8'); break
      case 0x23: ssl.cipher = text; break
      case 0x24: ssl.signatureAlgorithm = text; break
      case 0x25: ssl.keyAlgorithm = text; break
      default: others.push({ type, value: Uint8Array.from(value.subarray(at + 3, at + 3 + length)) })
    }
    at += 3 + length
  }
  ssl.others = others
  return ssl
}

function latin1(value: Uint8Array): string {
  return Buffer.from(value.buffer, value.byteOffset, value.length).toString('latin1')
}
