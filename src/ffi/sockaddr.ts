/*
 * struct sockaddr_in, sockaddr_in6 and sockaddr_un, written and read by hand (the FFI passes bytes):
 *
 *   sockaddr_in   (16 B): family u16 (host order) | port u16 (network order) | address 4 B | zero 8 B
 *   sockaddr_in6  (28 B): family u16 | port u16 (network) | flowinfo u32 | address 16 B | scope id u32
 *   sockaddr_un  (110 B): family u16 | path, NUL-terminated (at most 107 bytes)
 */
import { isIPv4, isIPv6 } from 'node:net'
import { AF_INET, AF_INET6, AF_UNIX, type Libc } from './libc.ts'

export const SOCKADDR_BYTES_MAX = 128

/** The sockaddr for an IP address (v4 or v6) and port. */
export function encodeAddress(host: string, port: number): { family: number; bytes: Buffer } {
  if (isIPv4(host)) {
    const bytes = Buffer.alloc(16)
    bytes.writeUInt16LE(AF_INET, 0)
    bytes.writeUInt16BE(port, 2)
    host.split('.').forEach((part, i) => (bytes[4 + i] = Number(part)))
    return { family: AF_INET, bytes }
  }
  if (isIPv6(host)) {
    const bytes = Buffer.alloc(28)
    bytes.writeUInt16LE(AF_INET6, 0)
    bytes.writeUInt16BE(port, 2)
    ipv6Bytes(host).copy(bytes, 8)
    return { family: AF_INET6, bytes }
  }
  throw new RangeError(`Invalid address ${JSON.stringify(host)}: expected an IPv4 or IPv6 address`)
}

/** The sockaddr_un for a Unix socket path. */
export function encodeUnixPath(path: string): { family: number; bytes: Buffer } {
  const name = Buffer.from(path)
  if (name.length > 107) throw new RangeError(`Invalid Unix socket path: at most 107 bytes, got ${name.length}`)
  const bytes = Buffer.alloc(2 + name.length + 1)
  bytes.writeUInt16LE(AF_UNIX, 0)
  name.copy(bytes, 2)
  return { family: AF_UNIX, bytes }
}

/** Address and port from a sockaddr the kernel filled in (undefined for a Unix socket). */
export function decodeAddress(bytes: Buffer): { address: string; port: number } | undefined {
  const family = bytes.readUInt16LE(0)
  if (family === AF_INET) return { address: [...bytes.subarray(4, 8)].join('.'), port: bytes.readUInt16BE(2) }
  if (family === AF_INET6) {
    const groups: string[] = []
    for (let i = 0; i < 8; i++) groups.push(bytes.readUInt16BE(8 + i * 2).toString(16))
    return { address: compressIpv6(groups), port: bytes.readUInt16BE(2) }
  }
  return undefined
}

function ipv6Bytes(host: string): Buffer {
  const bytes = Buffer.alloc(16)
  let text = host
  const zone = text.indexOf('%')
  if (zone >= 0) text = text.slice(0, zone)
  // A trailing dotted IPv4 part ("::ffff:1.2.3.4") becomes two groups.
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text)
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number]
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  }
  const [head, tail] = text.includes('::') ? text.split('::') as [string, string] : [text, undefined]
  const headGroups = head === '' ? [] : head.split(':')
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':')
  const groups = tail === undefined ? headGroups : [...headGroups, ...new Array(8 - headGroups.length - tailGroups.length).fill('0'), ...tailGroups]
  groups.forEach((group, i) => bytes.writeUInt16BE(parseInt(group, 16), i * 2))
  return bytes
}

/** The shortest text of eight groups: the longest run of zero groups (two or more) becomes "::". */
function compressIpv6(groups: string[]): string {
  let bestStart = -1
  let bestLength = 1
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++
      continue
    }
    let j = i
    while (j < 8 && groups[j] === '0') j++
    if (j - i > bestLength) {
      bestStart = i
      bestLength = j - i
    }
    i = j
  }
  if (bestStart < 0) return groups.join(':')
  return `${groups.slice(0, bestStart).join(':')}::${groups.slice(bestStart + bestLength).join(':')}`
}

/** The port a socket is bound to (getsockname), 0 when it cannot be read. */
export function boundPort(libc: Libc, fd: number): number {
  const bytes = Buffer.alloc(SOCKADDR_BYTES_MAX)
  const length = Buffer.alloc(4)
  length.writeUInt32LE(SOCKADDR_BYTES_MAX)
  libc.getsockname(fd, bytes, length)
  return decodeAddress(bytes)?.port ?? 0
}
