/*
 * The trusted-address matcher and trustProxy's resolution, against proxy-addr's documented examples
 * (its README: `proxyaddr(req, trust)`, `proxyaddr.all()`, the presets) and Express's `trust proxy` table.
 */
import assert from 'node:assert/strict'
import { SocketAddress } from 'node:net'
import { test } from 'node:test'
import fc from 'fast-check'
import { formatIpv6, parseIp } from '../../src/proxy/ip-address.ts'
import { compileTrustProxy, resolveForwarded } from '../../src/proxy/trust-proxy.ts'
import { compileTrusted } from '../../src/proxy/trusted.ts'

test('compileTrusted() matches addresses, CIDR blocks, netmasks and presets', () => {
  const table: [entries: string[], address: string, expected: boolean][] = [
    [['127.0.0.1'], '127.0.0.1', true],
    [['127.0.0.1'], '127.0.0.2', false],
    [['10.0.0.0/8'], '10.255.1.2', true],
    [['10.0.0.0/8'], '11.0.0.1', false],
    [['10.0.0.1/24'], '10.0.0.200', true], // host bits are masked, as proxy-addr does
    [['10.0.0.1/255.255.255.0'], '10.0.0.200', true],
    [['10.0.0.1/255.255.255.0'], '10.0.1.1', false],
    [['0.0.0.0/0'], '1.2.3.4', true],
    [['0.0.0.0/0'], '::1', false],
    [['::/0'], '2001:db8::1', true],
    [['fc00:ac:1ab5:fff::1/64'], 'fc00:ac:1ab5:fff::abcd', true],
    [['fc00:ac:1ab5:fff::1/64'], 'fc00:ac:1ab5:ffe::1', false],
    [['2001:db8::/127'], '2001:db8::1', true],
    [['2001:db8::/128'], '2001:db8::1', false],
    // IPv4-mapped peers match IPv4 rules, and mapped rules are IPv4 rules.
    [['127.0.0.1'], '::ffff:127.0.0.1', true],
    [['10.0.0.0/8'], '::ffff:10.1.1.1', true],
    [['::ffff:10.0.0.0/104'], '10.9.9.9', true],
    [['::ffff:10.0.0.0/104'], '11.9.9.9', false],
    [['::ffff:127.0.0.1'], '127.0.0.1', true],
    // Presets (proxy-addr's).
    [['loopback'], '127.0.0.1', true],
    [['loopback'], '127.200.0.1', true],
    [['loopback'], '::1', true],
    [['loopback'], '::ffff:127.0.0.1', true],
    [['loopback'], '10.0.0.1', false],
    [['linklocal'], '169.254.3.4', true],
    [['linklocal'], 'fe80::1', true],
    [['linklocal'], 'fe80::1%eth0', true], // a zone id is the interface, not the address
    [['linklocal'], 'fec0::1', false],
    [['uniquelocal'], '10.1.2.3', true],
    [['uniquelocal'], '172.16.0.1', true],
    [['uniquelocal'], '172.31.255.255', true],
    [['uniquelocal'], '172.32.0.0', false],
    [['uniquelocal'], '192.168.1.1', true],
    [['uniquelocal'], 'fd12::1', true],
    [['uniquelocal'], 'fe00::1', false],
    [['loopback', 'fc00:ac:1ab5:fff::1/64'], 'fc00:ac:1ab5:fff::2', true],
    // Not addresses: never trusted.
    [['loopback'], 'localhost', false],
    [['loopback'], '', false],
    [['0.0.0.0/0'], '010.0.0.1', false],
  ]
  for (const [entries, address, expected] of table) assert.equal(compileTrusted(entries)(address), expected, `${entries} ∋ ${address}`)
  assert.equal(compileTrusted(['loopback'])(undefined), false)
  assert.equal(compileTrusted('10.0.0.1, 10.0.0.2')('10.0.0.2'), true)
})

test('compileTrusted() names a bad entry and the option', () => {
  const bad = ['localhost', '10.0.0.0/33', '::/129', '10.0.0.0/255.0.255.0', '10.0.0.0/-1', '10.0.0.0/', '::ffff:10.0.0.0/95', '1.2.3', '1::2::3', 'fe80::1%eth0', '2001:db8::/255.0.0.0']
  for (const entry of bad) {
    assert.throws(() => compileTrusted(['loopback', entry], 'proxyProtocol.trusted'), (error: Error) => {
      assert.ok(error instanceof TypeError)
      assert.match(error.message, /^Invalid option proxyProtocol\.trusted: /)
      assert.ok(error.message.includes(`"${entry}"`), error.message)
      return true
    })
  }
  assert.throws(() => compileTrusted([3 as unknown as string]), TypeError)
})

test('parseIp() and formatIpv6() agree with node:net on random addresses', () => {
  fc.assert(fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (bytes) => {
    const text = formatIpv6(bytes)
    assert.equal(SocketAddress.parse(`[${text}]:1`)?.address, text)
    const ip = parseIp(text)!
    assert.ok(ip !== undefined)
  }), { seed: 39, numRuns: 1000 })
  fc.assert(fc.property(fc.ipV6(), (text) => {
    assert.ok(parseIp(text) !== undefined, text)
  }), { seed: 39, numRuns: 1000 })
})

/** proxy-addr's `proxyaddr(req, trust)` / `.all()`: the socket's peer and X-Forwarded-For. */
function ip(trust: Parameters<typeof compileTrustProxy>[0], peer: string, forwardedFor?: string) {
  return resolveForwarded(compileTrustProxy(trust), peer, false, { forwardedFor })
}

test('resolveForwarded() walks X-Forwarded-For right to left as proxy-addr does', () => {
  // No trust: the socket's peer, whatever the header says.
  assert.equal(ip(false, '127.0.0.1', '10.0.0.1').ip, '127.0.0.1')
  assert.equal(ip(undefined, '127.0.0.1', '10.0.0.1').ip, '127.0.0.1')
  // proxy-addr README: proxyaddr(req, 'loopback') with X-Forwarded-For: 10.0.0.1 from 127.0.0.1.
  assert.equal(ip('loopback', '127.0.0.1', '10.0.0.1').ip, '10.0.0.1')
  // The walk stops at the first hop not trusted.
  assert.equal(ip('loopback', '127.0.0.1', '10.0.0.2, 10.0.0.1').ip, '10.0.0.1')
  assert.equal(ip(['loopback', '10.0.0.1'], '127.0.0.1', '10.0.0.2, 10.0.0.1').ip, '10.0.0.2')
  assert.equal(ip('10.0.0.1, 10.0.0.2', '10.0.0.1', '192.168.0.1, 10.0.0.2').ip, '192.168.0.1')
  assert.equal(ip('10.0.0.1/24', '10.0.0.1', '192.168.0.1, 10.0.0.200').ip, '192.168.0.1')
  // An untrusted peer's header changes nothing (the forged header is ignored).
  assert.equal(ip('loopback', '10.0.0.1', '127.0.0.1').ip, '10.0.0.1')
  // true: the leftmost entry.
  assert.equal(ip(true, '127.0.0.1', '10.0.0.3, 10.0.0.2, 10.0.0.1').ip, '10.0.0.3')
  // Hop counts (Express: `trust proxy` n trusts the n nearest hops).
  assert.equal(ip(0, '127.0.0.1', '10.0.0.2, 10.0.0.1').ip, '127.0.0.1')
  assert.equal(ip(1, '127.0.0.1', '10.0.0.2, 10.0.0.1').ip, '10.0.0.1')
  assert.equal(ip(2, '127.0.0.1', '10.0.0.2, 10.0.0.1').ip, '10.0.0.2')
  assert.equal(ip(3, '127.0.0.1', '10.0.0.2, 10.0.0.1').ip, '10.0.0.2')
  // A function, called with (address, hop) right to left.
  const calls: [string, number][] = []
  const record = (address: string, hop: number) => (calls.push([address, hop]), address !== '10.0.0.2')
  assert.equal(ip(record, '127.0.0.1', '10.0.0.3, 10.0.0.2, 10.0.0.1').ip, '10.0.0.2')
  assert.deepEqual(calls, [['127.0.0.1', 0], ['10.0.0.1', 1], ['10.0.0.2', 2]])
  // A trusted peer without the header: itself.
  assert.equal(ip('loopback', '127.0.0.1').ip, '127.0.0.1')
  // Empty entries and spaces are skipped, as proxy-addr's parser does.
  assert.equal(ip(true, '127.0.0.1', ' 10.0.0.2 ,, 10.0.0.1 ').ip, '10.0.0.2')
  // IPv4-mapped peers.
  assert.equal(ip('loopback', '::ffff:127.0.0.1', '203.0.113.9').ip, '203.0.113.9')
})

test('resolveForwarded() gives proxy-addr.all() order as ips: client first, the socket\'s peer left out', () => {
  assert.deepEqual(ip('loopback', '127.0.0.1', '10.0.0.1').ips, ['10.0.0.1'])
  assert.deepEqual(ip(true, '127.0.0.1', '10.0.0.3, 10.0.0.2, 10.0.0.1').ips, ['10.0.0.3', '10.0.0.2', '10.0.0.1'])
  assert.deepEqual(ip(2, '127.0.0.1', '10.0.0.3, 10.0.0.2, 10.0.0.1').ips, ['10.0.0.2', '10.0.0.1'])
  assert.deepEqual(ip(false, '127.0.0.1', '10.0.0.1').ips, [])
})

test('resolveForwarded() takes protocol and host from the trusted proxy nearest the client', () => {
  const resolve = (trust: Parameters<typeof compileTrustProxy>[0], peer: string, headers: Record<string, string>, encrypted = false) =>
    resolveForwarded(compileTrustProxy(trust), peer, encrypted, { host: 'backend:8080', ...headers })
  // Untrusted peer: the socket's protocol and the Host header, whatever is forwarded.
  assert.deepEqual(resolve(false, '127.0.0.1', { forwardedProto: 'https', forwardedHost: 'evil.example' }), { ip: '127.0.0.1', ips: [], protocol: 'http', host: 'backend:8080' })
  assert.equal(resolve(false, '127.0.0.1', {}, true).protocol, 'https')
  // One proxy that sets the headers (nginx's proxy_set_header): its values.
  assert.deepEqual(resolve('loopback', '127.0.0.1', { forwardedFor: '203.0.113.7', forwardedProto: 'HTTPS', forwardedHost: 'example.com' }), { ip: '203.0.113.7', ips: ['203.0.113.7'], protocol: 'https', host: 'example.com' })
  // A trusted proxy without X-Forwarded-For still speaks for protocol and host (Express's rule).
  assert.equal(resolve('loopback', '127.0.0.1', { forwardedProto: 'https' }).protocol, 'https')
  // One proxy that appends to what the client sent: the client's own entry is not believed.
  assert.equal(resolve('loopback', '127.0.0.1', { forwardedFor: '6.6.6.6, 203.0.113.7', forwardedProto: 'gopher, https', forwardedHost: 'evil.example, example.com' }).host, 'example.com')
  assert.equal(resolve('loopback', '127.0.0.1', { forwardedFor: '6.6.6.6, 203.0.113.7', forwardedProto: 'gopher, https' }).protocol, 'https')
  // Two trusted proxies, each appending: the outer one's (nearest the client).
  assert.equal(resolve(['127.0.0.1', '10.0.0.5'], '127.0.0.1', { forwardedFor: '203.0.113.7, 10.0.0.5', forwardedProto: 'https, http', forwardedHost: 'example.com, inner:80' }).protocol, 'https')
  assert.equal(resolve(['127.0.0.1', '10.0.0.5'], '127.0.0.1', { forwardedFor: '203.0.113.7, 10.0.0.5', forwardedProto: 'https, http', forwardedHost: 'example.com, inner:80' }).host, 'example.com')
  // Two trusted proxies, the outer one replacing the header: the one value there is.
  assert.equal(resolve(2, '127.0.0.1', { forwardedFor: '203.0.113.7, 10.0.0.5', forwardedProto: 'https' }).protocol, 'https')
  // Values that are not a scheme or a host are ignored.
  assert.equal(resolve('loopback', '127.0.0.1', { forwardedProto: 'ht tp' }).protocol, 'http')
  assert.equal(resolve('loopback', '127.0.0.1', { forwardedHost: 'a/b' }).host, 'backend:8080')
  assert.equal(resolve('loopback', '127.0.0.1', { forwardedHost: '[::1]:8443' }).host, '[::1]:8443')
})

test('compileTrustProxy() refuses what it cannot read, naming the option', () => {
  assert.throws(() => compileTrustProxy(-1), /Invalid option trustProxy: expected a hop count/)
  assert.throws(() => compileTrustProxy(1.5), RangeError)
  assert.throws(() => compileTrustProxy(['loopback', 'nope']), /Invalid option trustProxy: "nope"/)
  assert.throws(() => compileTrustProxy({} as never), TypeError)
})
