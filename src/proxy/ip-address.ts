/*
 * IP addresses as numbers: IPv4 text to one 32-bit integer, IPv6 text to four, and 16 bytes back to the
 * text Node gives for a socket's `remoteAddress` (inet_ntop's: lowercase, the longest run of zero groups as
 * `::`, an IPv4-mapped address as `::ffff:a.b.c.d`).
 *
 * Why our own parser and not node:net's `isIP()`: the matcher in ./trusted.ts needs the numbers, not a
 * yes or no, and the PROXY parser must format addresses read as bytes. Parsing is strict where lenient
 * parsers disagree with each other: an IPv4 part with a leading zero ("010") is refused, because some
 * libc functions read it as octal (8) and others as decimal (10), and the address a check approves must
 * be the address the application logs. Worst case: one pass over at most 45 characters.
 */

/** An IPv4 address (or an IPv4-mapped IPv6 one, stored as IPv4) as one unsigned 32-bit integer. */
export interface Ipv4 { readonly family: 4; readonly value: number }
/** An IPv6 address as four unsigned 32-bit words, most significant first. */
export interface Ipv6 { readonly family: 6; readonly words: readonly [number, number, number, number] }
export type IpAddress = Ipv4 | Ipv6

/** Parses dotted-quad IPv4 ("10.0.0.1"): four decimal parts 0-255, no leading zero. */
export function parseIpv4(text: string): number | undefined {
  let value = 0
  let part = -1
  let digits = 0
  let dots = 0
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i)
    if (code >= 48 && code <= 57) {
      if (digits > 0 && part === 0) return undefined // a leading zero: octal to some readers
      part = digits === 0 ? code - 48 : part * 10 + code - 48
      if (part > 255) return undefined
      digits++
    } else if (code === 46 /* . */) {
      if (digits === 0 || dots === 3) return undefined
      value = value * 256 + part
      dots++
      digits = 0
      part = -1
    } else return undefined
  }
  if (digits === 0 || dots !== 3) return undefined
  return value * 256 + part
}

/** Parses IPv6 text ("2001:db8::1", "::ffff:10.0.0.1") to eight 16-bit groups; a `%zone` only when `zone` allows. */
export function parseIpv6Groups(text: string, zone = false): number[] | undefined {
  const percent = text.indexOf('%')
  if (percent !== -1) {
    if (!zone || percent === text.length - 1) return undefined
    text = text.slice(0, percent)
  }
  if (text.length < 2 || text.length > 45) return undefined
  const double = text.indexOf('::')
  if (double !== -1 && text.indexOf('::', double + 1) !== -1) return undefined
  const head = double === -1 ? text : text.slice(0, double)
  const tail = double === -1 ? '' : text.slice(double + 2)
  const left = head === '' ? [] : head.split(':')
  const right = tail === '' ? [] : tail.split(':')
  const groups: number[] = []
  const all = [...left, ...right]
  let leftCount = 0
  for (let i = 0; i < all.length; i++) {
    const part = all[i]!
    // A dotted IPv4 tail is allowed only as the last 32 bits, never before a `::`.
    const tail = i === all.length - 1 && (double === -1 || i >= left.length)
    if (tail && part.includes('.')) {
      const v4 = parseIpv4(part)
      if (v4 === undefined) return undefined
      groups.push(v4 >>> 16, v4 & 0xffff)
    } else {
      if (!/^[0-9a-fA-F]{1,4}$/.test(part)) return undefined
      groups.push(parseInt(part, 16))
    }
    if (i < left.length) leftCount = groups.length
  }
  if (double === -1) return groups.length === 8 ? groups : undefined
  if (groups.length > 7) return undefined
  const zeros = new Array<number>(8 - groups.length).fill(0)
  return [...groups.slice(0, leftCount), ...zeros, ...groups.slice(leftCount)]
}

/**
 * Parses an IPv4 or IPv6 address; an IPv4-mapped IPv6 address (::ffff:a.b.c.d) comes back as IPv4, so that
 * one rule ("10.0.0.0/8") matches a peer however the socket names it (a dual-stack listener says
 * "::ffff:10.0.0.1").
 * @example
 * parseIp('::ffff:127.0.0.1') // { family: 4, value: 0x7f000001 }
 */
export function parseIp(text: string, zone = false): IpAddress | undefined {
  const v4 = parseIpv4(text)
  if (v4 !== undefined) return { family: 4, value: v4 }
  const groups = parseIpv6Groups(text, zone)
  if (groups === undefined) return undefined
  if (groups[0] === 0 && groups[1] === 0 && groups[2] === 0 && groups[3] === 0 && groups[4] === 0 && groups[5] === 0xffff) {
    return { family: 4, value: (groups[6]! * 65536 + groups[7]!) }
  }
  return { family: 6, words: [words(groups, 0), words(groups, 2), words(groups, 4), words(groups, 6)] }
}

function words(groups: readonly number[], at: number): number {
  return (groups[at]! * 65536 + groups[at + 1]!) >>> 0
}

/** Formats 4 bytes as dotted-quad text. */
export function formatIpv4(bytes: Uint8Array, at = 0): string {
  return `${bytes[at]}.${bytes[at + 1]}.${bytes[at + 2]}.${bytes[at + 3]}`
}

/** Formats 16 bytes as Node formats an IPv6 peer: RFC 5952, and `::ffff:a.b.c.d` for an IPv4-mapped address. */
export function formatIpv6(bytes: Uint8Array, at = 0): string {
  const groups: number[] = []
  for (let i = 0; i < 8; i++) groups.push((bytes[at + 2 * i]! << 8) | bytes[at + 2 * i + 1]!)
  return formatIpv6Groups(groups)
}

/**
 * Formats eight 16-bit groups as inet_ntop() does (what Node gives as `remoteAddress`): RFC 5952 §4, the
 * longest run of two or more zero groups, the first if tied, as `::`; and the last 32 bits dotted when the
 * run is the first 96 bits ("::1.2.3.4") or the first 80 before ffff ("::ffff:1.2.3.4").
 */
export function formatIpv6Groups(groups: readonly number[]): string {
  let bestAt = -1
  let bestLength = 1
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) { i++; continue }
    let j = i
    while (j < 8 && groups[j] === 0) j++
    if (j - i > bestLength) { bestAt = i; bestLength = j - i }
    i = j
  }
  if (bestAt === 0 && (bestLength === 6 || (bestLength === 5 && groups[5] === 0xffff))) {
    return `::${bestLength === 5 ? 'ffff:' : ''}${groups[6]! >>> 8}.${groups[6]! & 255}.${groups[7]! >>> 8}.${groups[7]! & 255}`
  }
  const hex = groups.map((group) => group.toString(16))
  if (bestAt === -1) return hex.join(':')
  return `${hex.slice(0, bestAt).join(':')}::${hex.slice(bestAt + bestLength).join(':')}`
}

/** Canonical text of an address, as Node would give it; undefined when `text` is not one. */
export function canonicalIp(text: string): string | undefined {
  const v4 = parseIpv4(text)
  if (v4 !== undefined) return text
  const groups = parseIpv6Groups(text)
  return groups === undefined ? undefined : formatIpv6Groups(groups)
}
