/*
 * readProxyHeader(): every valid header read whole, at every byte split and one byte at a time, with the
 * bytes after it left for the protocol; every invalid one refused at every split, never `done`; the limits
 * at N and N+1; and property tests: a generated header round-trips through the test encoder, and random
 * bytes never throw and never consume past a limit.
 */
import assert from 'node:assert/strict'
import { SocketAddress } from 'node:net'
import { test } from 'node:test'
import fc from 'fast-check'
import { proxyLimitSpecs } from '../../src/limits.ts'
import { crc32c } from '../../src/proxy/crc32c.ts'
import { parseIpv6Groups } from '../../src/proxy/ip-address.ts'
import { PROXY_V1_BYTES_MAX, PROXY_V2_SIGNATURE, readProxyHeader } from '../../src/proxy/read-proxy-header.ts'
import type { ProxyHeaderRead } from '../../src/proxy/types.ts'
import { encodeV2, sslValue, tlv } from './encode-proxy-header.ts'

const REST = Buffer.from('GET / HTTP/1.1\r\nHost: a\r\n\r\n')

/** Feeds `chunks` as the stage chain does (what was not consumed is shown again with what arrives). */
function feed(chunks: Buffer[], max?: number): { read: ProxyHeaderRead; rest: Buffer; earlier: ProxyHeaderRead[] } {
  let held = Buffer.alloc(0)
  const earlier: ProxyHeaderRead[] = []
  for (const [index, chunk] of chunks.entries()) {
    held = Buffer.concat([held, chunk])
    const read = readProxyHeader(held, max)
    const after = Buffer.concat([held, ...chunks.slice(index + 1)])
    if (read.state !== 'more') return { read, rest: read.state === 'done' ? after.subarray(read.consumed) : Buffer.alloc(0), earlier }
    earlier.push(read)
  }
  return { read: { state: 'more' }, rest: held, earlier }
}

/** Every way of cutting `bytes` in two, and one byte at a time. */
function splits(bytes: Buffer): Buffer[][] {
  const all: Buffer[][] = []
  for (let at = 1; at < bytes.length; at++) all.push([bytes.subarray(0, at), bytes.subarray(at)])
  all.push([...bytes].map((byte) => Buffer.of(byte)))
  return all
}

function checkValid(name: string, header: Buffer, expected: object): void {
  test(`readProxyHeader() reads ${name} whole and at every byte split`, () => {
    const whole = readProxyHeader(Buffer.concat([header, REST]))
    assert.equal(whole.state, 'done')
    assert.equal(whole.state === 'done' && whole.consumed, header.length)
    assert.partialDeepStrictEqual(whole.state === 'done' && whole.header, expected)
    for (const chunks of splits(Buffer.concat([header, REST]))) {
      const { read, rest } = feed(chunks)
      assert.deepEqual(read, whole)
      assert.deepEqual(rest, REST)
    }
    // Each strict prefix of the header asks for more.
    for (let at = 0; at < header.length; at++) assert.deepEqual(readProxyHeader(header.subarray(0, at)), { state: 'more' }, `prefix of ${at}`)
  })
}

function checkInvalid(name: string, bytes: Buffer, code: string, max?: number): void {
  test(`readProxyHeader() refuses ${name} (${code}) at every byte split`, () => {
    const whole = readProxyHeader(bytes, max)
    assert.equal(whole.state, 'error')
    assert.equal(whole.state === 'error' && whole.code, code)
    for (const chunks of splits(bytes)) {
      const { read } = feed(chunks, max)
      assert.equal(read.state, 'error', `split ${chunks.map((c) => c.length).join('+')}`)
      assert.equal(read.state === 'error' && read.code, code)
    }
  })
}

// Version 1.
checkValid('a v1 TCP4 header', Buffer.from('PROXY TCP4 203.0.113.7 10.0.0.1 51234 80\r\n'), {
  version: 1, command: 'proxy', family: 'inet', transport: 'stream',
  source: { address: '203.0.113.7', port: 51234 }, destination: { address: '10.0.0.1', port: 80 },
})
checkValid('a v1 TCP6 header (addresses made canonical)', Buffer.from('PROXY TCP6 2001:DB8:0:0::7 ::1 65535 0\r\n'), {
  version: 1, family: 'inet6', source: { address: '2001:db8::7', port: 65535 }, destination: { address: '::1', port: 0 },
})
checkValid('a v1 UNKNOWN header with ignored text', Buffer.from('PROXY UNKNOWN ffff:f...f:ffff 1 2 3\r\n'), { version: 1, family: 'unspec', source: undefined })
checkValid('a bare v1 UNKNOWN header', Buffer.from('PROXY UNKNOWN\r\n'), { family: 'unspec' })
const longestV1 = Buffer.from('PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n')
test('the longest v1 TCP6 header is 104 bytes, the UNKNOWN bound 107', () => {
  assert.equal(longestV1.length, 104)
})
checkValid('the longest v1 TCP6 header', longestV1, { source: { address: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', port: 65535 } })
const v1At107 = Buffer.from(`PROXY UNKNOWN ${'x'.repeat(PROXY_V1_BYTES_MAX - 'PROXY UNKNOWN \r\n'.length)}\r\n`)
checkValid('a v1 UNKNOWN header of exactly 107 bytes', v1At107, { family: 'unspec' })
checkInvalid('a v1 header of 108 bytes', Buffer.from(`PROXY UNKNOWN ${'x'.repeat(PROXY_V1_BYTES_MAX + 1 - 'PROXY UNKNOWN \r\n'.length)}\r\n`), 'V1_TOO_LONG')
checkInvalid('HTTP where a header must be', Buffer.from('GET / HTTP/1.1\r\n\r\n'), 'NOT_PROXY')
checkInvalid('"PROXZ"', Buffer.from('PROXZ TCP4 1.2.3.4 1.2.3.4 1 2\r\n'), 'NOT_PROXY')
checkInvalid('a v1 header with a bare LF', Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n'), 'V1_MALFORMED')
checkInvalid('a v1 header with a CR inside', Buffer.from('PROXY TCP4 1.2.3.4\r5.6.7.8 1 2\r\n'), 'V1_MALFORMED')
checkInvalid('a v1 header with a NUL', Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 1 2\0\r\n'), 'V1_MALFORMED')
checkInvalid('a v1 header with two spaces', Buffer.from('PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n'), 'V1_MALFORMED')
checkInvalid('a v1 TCP4 header with an IPv6 address', Buffer.from('PROXY TCP4 ::1 5.6.7.8 1 2\r\n'), 'V1_MALFORMED')
checkInvalid('a v1 TCP6 header with an IPv4 address', Buffer.from('PROXY TCP6 1.2.3.4 ::1 1 2\r\n'), 'V1_MALFORMED')
checkInvalid('a v1 header with an octal-looking address', Buffer.from('PROXY TCP4 010.0.0.1 5.6.7.8 1 2\r\n'), 'V1_MALFORMED')
checkInvalid('a v1 header with port 65536', Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n'), 'V1_MALFORMED')
checkInvalid('a v1 header with a leading-zero port', Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n'), 'V1_MALFORMED')
checkInvalid('a v1 header with TCP5', Buffer.from('PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n'), 'V1_MALFORMED')
checkInvalid('a v1 header missing a port', Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n'), 'V1_MALFORMED')

// Version 2.

/** `header` with its length field and its end cut by `bytes`: its last TLV no longer fits. */
function truncated(header: Buffer, bytes: number): Buffer {
  const cut = Buffer.from(header.subarray(0, header.length - bytes))
  cut.writeUInt16BE(cut.length - 16, 14)
  return cut
}
const inet = { source: { address: '203.0.113.7', port: 51234 }, destination: { address: '10.0.0.1', port: 443 } }
checkValid('a v2 PROXY TCP over IPv4 header', encodeV2({ command: 'proxy', family: 'inet', ...inet }), {
  version: 2, command: 'proxy', family: 'inet', transport: 'stream', ...inet, tlvs: { others: [] },
})
checkValid('a v2 PROXY TCP over IPv6 header', encodeV2({ command: 'proxy', family: 'inet6', source: { address: '2001:db8::7', port: 1 }, destination: { address: '::ffff:10.0.0.1', port: 2 } }), {
  family: 'inet6', source: { address: '2001:db8::7', port: 1 }, destination: { address: '::ffff:10.0.0.1', port: 2 },
})
checkValid('a v2 PROXY AF_UNIX header', encodeV2({ command: 'proxy', family: 'unix', source: { path: '/run/client.sock' }, destination: { path: '/run/haproxy.sock' } }), {
  family: 'unix', source: { path: '/run/client.sock' }, destination: { path: '/run/haproxy.sock' },
})
checkValid('a v2 LOCAL header (a health check)', encodeV2({ command: 'local', family: 'unspec', transport: 'unspec' }), {
  command: 'local', family: 'unspec', source: undefined, destination: undefined,
})
checkValid('a v2 LOCAL header with addresses, which are discarded', encodeV2({ command: 'local', family: 'inet', ...inet }), { command: 'local', source: undefined })
const localShort = encodeV2({ command: 'local', family: 'inet', ...inet }).subarray(0, 16)
localShort.writeUInt16BE(0, 14)
checkValid('a v2 LOCAL header naming AF_INET with no address bytes (HAProxy accepts it)', localShort, { command: 'local', family: 'inet', source: undefined })
checkValid('a v2 PROXY header over DGRAM, whose addresses are discarded', encodeV2({ command: 'proxy', family: 'inet', transport: 'dgram', ...inet }), { transport: 'dgram', source: undefined })
checkValid('a v2 PROXY UNSPEC header', encodeV2({ command: 'proxy', family: 'unspec', transport: 'unspec' }), { command: 'proxy', family: 'unspec', source: undefined })
checkValid('a v2 header with every TLV and a CRC32C', encodeV2({
  command: 'proxy', family: 'inet', ...inet, crc: true,
  tlvs: [
    tlv(0x01, 'h2'), tlv(0x02, 'exämple.com'), tlv(0x05, Buffer.alloc(128, 7)), tlv(0x04, Buffer.alloc(5)),
    tlv(0x20, sslValue(0x07, 0, [tlv(0x21, 'TLSv1.3'), tlv(0x22, 'clïent'), tlv(0x23, 'TLS_AES_128_GCM_SHA256'), tlv(0x24, 'SHA256'), tlv(0x25, 'RSA2048'), tlv(0x26, 'x')])),
    tlv(0x30, 'blue'), tlv(0xea, Buffer.of(1, 2, 3)),
  ],
}), {
  tlvs: {
    alpn: 'h2', authority: 'exämple.com', uniqueId: new Uint8Array(128).fill(7), netns: 'blue',
    ssl: { ssl: true, certificateOnConnection: true, certificateInSession: true, verify: 0, version: 'TLSv1.3', commonName: 'clïent', cipher: 'TLS_AES_128_GCM_SHA256', signatureAlgorithm: 'SHA256', keyAlgorithm: 'RSA2048', others: [{ type: 0x26, value: new Uint8Array([0x78]) }] },
    others: [{ type: 0xea, value: new Uint8Array([1, 2, 3]) }],
  },
})

const good = encodeV2({ command: 'proxy', family: 'inet', ...inet, crc: true })
const flipped = Buffer.from(good)
flipped[20]! ^= 1
checkInvalid('a v2 header whose CRC32C does not match', flipped, 'V2_BAD_CRC32C')
checkInvalid('a v2 header of version 1', encodeV2({ command: 'proxy', family: 'inet', ...inet, version: 1 }), 'V2_BAD_VERSION')
checkInvalid('a v2 header of version 3', encodeV2({ command: 'proxy', family: 'inet', ...inet, version: 3 }), 'V2_BAD_VERSION')
const badCommand = encodeV2({ command: 'proxy', family: 'inet', ...inet })
badCommand[12] = 0x22
checkInvalid('a v2 header with command 2', badCommand, 'V2_BAD_COMMAND')
const badFamily = encodeV2({ command: 'proxy', family: 'inet', ...inet })
badFamily[13] = 0x41
checkInvalid('a v2 header with family 4', badFamily, 'V2_BAD_FAMILY')
badFamily[13] = 0x13
checkInvalid('a v2 header with transport 3', Buffer.from(badFamily), 'V2_BAD_FAMILY')
const short = encodeV2({ command: 'proxy', family: 'inet', ...inet })
short.writeUInt16BE(11, 14)
checkInvalid('a v2 INET header of 11 address bytes', short.subarray(0, 27), 'V2_SHORT_ADDRESS')
checkInvalid('a v2 header with a TLV running past its end', truncated(encodeV2({ command: 'proxy', family: 'inet', ...inet, tlvs: [tlv(0x01, 'h2')] }), 1), 'V2_BAD_TLV')
checkInvalid('a v2 header with two ALPN TLVs', encodeV2({ command: 'proxy', family: 'inet', ...inet, tlvs: [tlv(0x01, 'h2'), tlv(0x01, 'http/1.1')] }), 'V2_BAD_TLV')
checkInvalid('a v2 header with a UNIQUE_ID of 129 bytes', encodeV2({ command: 'proxy', family: 'inet', ...inet, tlvs: [tlv(0x05, Buffer.alloc(129))] }), 'V2_BAD_TLV')
checkInvalid('a v2 header with a CRC32C TLV of 3 bytes', encodeV2({ command: 'proxy', family: 'inet', ...inet, tlvs: [tlv(0x03, Buffer.alloc(3))] }), 'V2_BAD_TLV')
checkInvalid('a v2 header with an SSL TLV of 4 bytes', encodeV2({ command: 'proxy', family: 'inet', ...inet, tlvs: [tlv(0x20, Buffer.alloc(4))] }), 'V2_BAD_TLV')
checkInvalid('a v2 header with an SSL sub-TLV running past it', encodeV2({ command: 'proxy', family: 'inet', ...inet, tlvs: [tlv(0x20, Buffer.concat([sslValue(1, 0, []), Buffer.of(0x21, 0, 9, 1)]))] }), 'V2_BAD_TLV')
checkInvalid('a v2 header with an AUTHORITY not UTF-8', encodeV2({ command: 'proxy', family: 'inet', ...inet, tlvs: [tlv(0x02, Buffer.of(0xff))] }), 'V2_BAD_TLV')
checkInvalid('a v2 header with 2 stray bytes after its TLVs', truncated(encodeV2({ command: 'proxy', family: 'inet', ...inet, tlvs: [tlv(0x04, ''), tlv(0x04, '')] }), 1), 'V2_BAD_TLV')
const badSignature = Buffer.from(good)
badSignature[7] = 0x52
checkInvalid('a v2 signature with one byte changed', badSignature, 'NOT_PROXY')

test('readProxyHeader() takes a v2 header of proxyHeaderBytesMax bytes and refuses one of N + 1, from its first 16 bytes', () => {
  for (const max of [proxyLimitSpecs.proxyHeaderBytesMax.value, 300]) {
    const padding = (length: number) => encodeV2({ command: 'proxy', family: 'inet', ...inet, tlvs: [tlv(0x04, Buffer.alloc(length - 16 - 12 - 3))] })
    const atMax = padding(max)
    assert.equal(atMax.length, max)
    const read = readProxyHeader(atMax, max)
    assert.equal(read.state === 'done' && read.consumed, max)
    const over = padding(max + 1)
    const refused = readProxyHeader(over.subarray(0, 16), max)
    assert.equal(refused.state === 'error' && refused.code, 'V2_TOO_LONG')
  }
})

test('crc32c() gives the Castagnoli check value of "123456789"', () => {
  assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283)
})

test('a v2 header is told from a v1 one by its first byte, and the signature is the spec\'s', () => {
  assert.deepEqual([...PROXY_V2_SIGNATURE], [...Buffer.from('\r\n\r\n\0\r\nQUIT\n', 'latin1')])
  assert.deepEqual(readProxyHeader(Buffer.from('\r')), { state: 'more' })
  assert.deepEqual(readProxyHeader(Buffer.from('P')), { state: 'more' })
})

// Property tests.

const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((parts) => parts.join('.'))
const ipv6 = fc.ipV6().map((text) => text)
const port = fc.nat(65535)
const textTlv = (type: number) => fc.string({ maxLength: 40 }).map((value) => tlv(type, value))

test('a generated v2 header round-trips through the encoder, at a random split', () => {
  const spec = fc.record({
    command: fc.constant('proxy' as const),
    family: fc.constantFrom('inet' as const, 'inet6' as const),
    v4: fc.tuple(ipv4, ipv4, port, port),
    v6: fc.tuple(ipv6, ipv6, port, port),
    alpn: fc.option(fc.constantFrom('h2', 'http/1.1', 'x')),
    authority: fc.option(textTlv(0x02)),
    noops: fc.array(fc.nat(20), { maxLength: 3 }),
    others: fc.array(fc.record({ type: fc.integer({ min: 0xe0, max: 0xef }), value: fc.uint8Array({ maxLength: 30 }) }), { maxLength: 4 }),
    crc: fc.boolean(),
    split: fc.nat(),
  })
  fc.assert(fc.property(spec, (s) => {
    const [source, destination, sourcePort, destinationPort] = s.family === 'inet' ? s.v4 : s.v6
    const tlvs = [
      ...(s.alpn === null ? [] : [tlv(0x01, s.alpn)]),
      ...(s.authority === null ? [] : [s.authority]),
      ...s.noops.map((n) => tlv(0x04, Buffer.alloc(n))),
      ...s.others,
    ]
    const header = encodeV2({ command: 'proxy', family: s.family, source: { address: source, port: sourcePort }, destination: { address: destination, port: destinationPort }, tlvs, crc: s.crc })
    const bytes = Buffer.concat([header, REST])
    const at = s.split % bytes.length
    const { read, rest } = feed([bytes.subarray(0, at), bytes.subarray(at)])
    assert.equal(read.state, 'done')
    if (read.state !== 'done') return
    assert.equal(read.consumed, header.length)
    assert.deepEqual(rest, REST)
    // The same address (IPv6 comes back in its canonical text: the same 128 bits).
    const same = (got: string, given: string) => (s.family === 'inet' ? assert.equal(got, given) : assert.deepEqual(parseIpv6Groups(got), parseIpv6Groups(given)))
    same(read.header.source!.address!, source)
    same(read.header.destination!.address!, destination)
    assert.equal(read.header.source!.port, sourcePort)
    assert.equal(read.header.destination!.port, destinationPort)
    assert.equal(read.header.tlvs.alpn, s.alpn ?? undefined)
    assert.equal(read.header.tlvs.authority, s.authority === null ? undefined : Buffer.from(s.authority.value).toString('utf8'))
    assert.deepEqual(read.header.tlvs.others.map((o) => ({ type: o.type, value: Buffer.from(o.value) })), s.others.map((o) => ({ type: o.type, value: Buffer.from(o.value) })))
    assert.equal(read.header.tlvs.crc32c !== undefined, s.crc)
  }), { seed: 39, numRuns: 500 })
})

test('a generated v1 header round-trips, its IPv6 addresses in the text node:net gives them', () => {
  fc.assert(fc.property(fc.boolean(), ipv4, ipv4, ipv6, ipv6, port, port, (six, a4, b4, a6, b6, p, q) => {
    const [a, b] = six ? [a6, b6] : [a4, b4]
    const line = Buffer.from(`PROXY TCP${six ? 6 : 4} ${a} ${b} ${p} ${q}\r\n`)
    if (line.length > PROXY_V1_BYTES_MAX) return
    const read = readProxyHeader(Buffer.concat([line, REST]))
    assert.equal(read.state, 'done', line.toString())
    if (read.state !== 'done') return
    assert.equal(read.consumed, line.length)
    assert.equal(read.header.source!.port, p)
    assert.equal(read.header.destination!.port, q)
    if (six) {
      // The canonical form names the same 128 bits.
      assert.deepEqual(parseIpv6Groups(read.header.source!.address!), parseIpv6Groups(a))
      assert.equal(read.header.source!.address, SocketAddress.parse(`[${a}]:1`)?.address, 'the text Node gives the same address')
    } else assert.equal(read.header.source!.address, a)
  }), { seed: 39, numRuns: 500 })
})

test('random bytes never throw and never consume past a limit', () => {
  const prefixes = fc.constantFrom(Buffer.alloc(0), Buffer.from('PROXY '), Buffer.from('PROXY TCP4 '), Buffer.from(PROXY_V2_SIGNATURE), Buffer.concat([PROXY_V2_SIGNATURE, Buffer.of(0x21, 0x11)]))
  fc.assert(fc.property(prefixes, fc.uint8Array({ maxLength: 400 }), fc.integer({ min: 232, max: 400 }), (prefix, random, max) => {
    const bytes = Buffer.concat([prefix, random])
    const read = readProxyHeader(bytes, max)
    if (read.state === 'done') {
      assert.ok(read.consumed <= bytes.length)
      assert.ok(read.consumed <= (read.header.version === 1 ? PROXY_V1_BYTES_MAX : max))
    }
    if (read.state === 'more') assert.ok(bytes.length < (bytes[0] === 0x50 ? PROXY_V1_BYTES_MAX : max))
  }), { seed: 39, numRuns: 2000 })
})

test('an answer once given never changes as more bytes arrive (mutated headers, every prefix)', () => {
  // The stage chain re-reads from the first byte on each arrival; a `done` or `error` must be final.
  const base = fc.constantFrom(
    Buffer.from('PROXY TCP4 203.0.113.7 10.0.0.1 51234 80\r\n'),
    Buffer.from('PROXY TCP6 2001:db8::7 ::1 1 2\r\n'),
    encodeV2({ command: 'proxy', family: 'inet', ...inet, tlvs: [tlv(0x01, 'h2'), tlv(0x20, sslValue(1, 0, [tlv(0x21, 'TLSv1.3')]))], crc: true }),
    encodeV2({ command: 'local', family: 'unspec', transport: 'unspec' }),
  )
  const mutations = fc.array(fc.record({ at: fc.nat(), byte: fc.nat(255) }), { maxLength: 3 })
  fc.assert(fc.property(base, mutations, fc.uint8Array({ maxLength: 20 }), (header, changes, tail) => {
    const bytes = Buffer.concat([header, tail])
    for (const { at, byte } of changes) bytes[at % bytes.length] = byte
    let final: ProxyHeaderRead | undefined
    for (let length = 0; length <= bytes.length; length++) {
      const read = readProxyHeader(bytes.subarray(0, length), 300)
      if (final !== undefined) assert.deepEqual(read, final, `prefix of ${length}`)
      else if (read.state !== 'more') final = read
    }
  }), { seed: 39, numRuns: 1000 })
})
