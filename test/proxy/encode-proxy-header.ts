/*
 * A PROXY header encoder for tests: the inverse of readProxyHeader(), written from the spec independently
 * of it, so that a generated header round-trips.
 */
import { crc32c } from '../../src/proxy/crc32c.ts'
import { parseIpv4, parseIpv6Groups } from '../../src/proxy/ip-address.ts'
import { PROXY_V2_SIGNATURE } from '../../src/proxy/read-proxy-header.ts'

export interface V2Spec {
  command: 'proxy' | 'local'
  family: 'unspec' | 'inet' | 'inet6' | 'unix'
  transport?: 'unspec' | 'stream' | 'dgram'
  source?: { address?: string; port?: number; path?: string }
  destination?: { address?: string; port?: number; path?: string }
  /** TLVs in order, raw. */
  tlvs?: { type: number; value: Uint8Array }[]
  /** Add a CRC32C TLV last, computed over the whole header. */
  crc?: boolean
  /** Override the version nibble (tests of refusal). */
  version?: number
}

export function tlv(type: number, value: Uint8Array | string): { type: number; value: Uint8Array } {
  return { type, value: typeof value === 'string' ? Buffer.from(value, 'utf8') : value }
}

function encodeTlv(type: number, value: Uint8Array): Buffer {
  const head = Buffer.alloc(3)
  head[0] = type
  head.writeUInt16BE(value.length, 1)
  return Buffer.concat([head, value])
}

export function encodeV2(spec: V2Spec): Buffer {
  const families = { unspec: 0, inet: 1, inet6: 2, unix: 3 }
  const transports = { unspec: 0, stream: 1, dgram: 2 }
  let addresses: Buffer
  if (spec.family === 'inet') {
    addresses = Buffer.alloc(12)
    addresses.writeUInt32BE(parseIpv4(spec.source!.address!)!, 0)
    addresses.writeUInt32BE(parseIpv4(spec.destination!.address!)!, 4)
    addresses.writeUInt16BE(spec.source!.port!, 8)
    addresses.writeUInt16BE(spec.destination!.port!, 10)
  } else if (spec.family === 'inet6') {
    addresses = Buffer.alloc(36)
    parseIpv6Groups(spec.source!.address!)!.forEach((group, i) => addresses.writeUInt16BE(group, 2 * i))
    parseIpv6Groups(spec.destination!.address!)!.forEach((group, i) => addresses.writeUInt16BE(group, 16 + 2 * i))
    addresses.writeUInt16BE(spec.source!.port!, 32)
    addresses.writeUInt16BE(spec.destination!.port!, 34)
  } else if (spec.family === 'unix') {
    addresses = Buffer.alloc(216)
    addresses.write(spec.source!.path!, 0, 'utf8')
    addresses.write(spec.destination!.path!, 108, 'utf8')
  } else addresses = Buffer.alloc(0)
  const tlvs = (spec.tlvs ?? []).map(({ type, value }) => encodeTlv(type, value))
  if (spec.crc) tlvs.push(encodeTlv(0x03, Buffer.alloc(4)))
  const body = Buffer.concat([addresses, ...tlvs])
  const head = Buffer.alloc(16)
  head.set(PROXY_V2_SIGNATURE, 0)
  head[12] = ((spec.version ?? 2) << 4) | (spec.command === 'proxy' ? 1 : 0)
  head[13] = (families[spec.family] << 4) | transports[spec.transport ?? 'stream']
  head.writeUInt16BE(body.length, 14)
  const header = Buffer.concat([head, body])
  if (spec.crc) header.writeUInt32BE(crc32c(header), header.length - 4)
  return header
}

export function sslValue(client: number, verify: number, subs: { type: number; value: Uint8Array }[]): Buffer {
  const head = Buffer.alloc(5)
  head[0] = client
  head.writeUInt32BE(verify, 1)
  return Buffer.concat([head, ...subs.map(({ type, value }) => encodeTlv(type, value))])
}
