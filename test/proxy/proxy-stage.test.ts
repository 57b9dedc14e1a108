/*
 * proxyStage() driven as the stage chain drives it (src/tcp/stages.ts: every byte not consumed is shown
 * again with what arrives), one byte at a time on a stand-in for the connection: the peer is set from the
 * header, LOCAL keeps the real one, an untrusted peer and a bad header are destroyed, unopened; the options
 * are checked once. ./proxy-listen.test.ts runs the stage on real listeners.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { proxyStage, STAGE_MORE, type StageConnection } from '../../src/proxy/proxy-stage.ts'
import type { ProxyHeader } from '../../src/proxy/types.ts'
import { encodeV2 } from './encode-proxy-header.ts'

class FakeConnection implements StageConnection {
  remoteAddress: string | undefined
  remotePort: number | undefined
  closed = false
  ending = false
  destroyed = false
  constructor(address: string, port: number) {
    this.remoteAddress = address
    this.remotePort = port
  }
  setPeer(address: string, port: number): void {
    this.remoteAddress = address
    this.remotePort = port
  }
  write(): boolean { return true }
  end(): void { this.ending = true }
  destroy(): void { this.destroyed = true; this.closed = true }
}

/** Runs `bytes` through the stage one byte at a time; returns what the protocol would get next, or undefined if refused. */
function run(stage: ReturnType<typeof proxyStage>, connection: FakeConnection, bytes: Buffer): Buffer | undefined {
  let held = Buffer.alloc(0)
  for (let i = 0; i < bytes.length; i++) {
    held = Buffer.concat([held, bytes.subarray(i, i + 1)])
    const consumed = stage.take(held, connection)
    if (connection.closed) return undefined
    if (consumed !== STAGE_MORE) return Buffer.concat([held.subarray(consumed), bytes.subarray(i + 1)])
  }
  return undefined
}

const REST = Buffer.from('GET / HTTP/1.1\r\n\r\n')

test('proxyStage() sets the peer from a v1 and a v2 header and passes the rest on', () => {
  const headers: ProxyHeader[] = []
  const stage = proxyStage({ trusted: ['127.0.0.1'], onHeader: (header) => headers.push(header) })
  const v1 = new FakeConnection('127.0.0.1', 40000)
  assert.deepEqual(run(stage, v1, Buffer.concat([Buffer.from('PROXY TCP4 203.0.113.7 10.0.0.1 51234 80\r\n'), REST])), REST)
  assert.deepEqual([v1.remoteAddress, v1.remotePort], ['203.0.113.7', 51234])
  const v2 = new FakeConnection('::ffff:127.0.0.1', 40001)
  const header = encodeV2({ command: 'proxy', family: 'inet6', source: { address: '2001:db8::7', port: 5 }, destination: { address: '::1', port: 443 } })
  assert.deepEqual(run(stage, v2, Buffer.concat([header, REST])), REST)
  assert.deepEqual([v2.remoteAddress, v2.remotePort], ['2001:db8::7', 5])
  assert.equal(headers.length, 2)
})

test('proxyStage() keeps the real peer for LOCAL, UNSPEC and AF_UNIX headers', () => {
  const stage = proxyStage({ trusted: ['loopback'] })
  for (const header of [
    encodeV2({ command: 'local', family: 'unspec', transport: 'unspec' }),
    encodeV2({ command: 'local', family: 'inet', source: { address: '1.2.3.4', port: 1 }, destination: { address: '5.6.7.8', port: 2 } }),
    encodeV2({ command: 'proxy', family: 'unix', source: { path: '/a' }, destination: { path: '/b' } }),
    Buffer.from('PROXY UNKNOWN\r\n'),
  ]) {
    const connection = new FakeConnection('127.0.0.1', 40000)
    assert.deepEqual(run(stage, connection, Buffer.concat([header, REST])), REST)
    assert.deepEqual([connection.remoteAddress, connection.remotePort], ['127.0.0.1', 40000])
  }
})

test('proxyStage() destroys a peer outside trusted before reading a byte, and a bad header', () => {
  const reasons: string[] = []
  const stage = proxyStage({ trusted: ['10.0.0.0/8'], onRefused: (reason) => reasons.push(reason) })
  const outsider = new FakeConnection('192.168.1.1', 40000)
  assert.equal(run(stage, outsider, Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n')), undefined)
  assert.ok(outsider.destroyed)
  assert.equal(outsider.remoteAddress, '192.168.1.1')
  const http = new FakeConnection('10.1.1.1', 40000)
  assert.equal(run(stage, http, REST), undefined)
  assert.ok(http.destroyed)
  assert.equal(reasons.length, 2)
  assert.match(reasons[0]!, /not in proxyProtocol\.trusted/)
})

test('proxyStage() takes a v2 header of headerBytesMax bytes and refuses one of N + 1', () => {
  const stage = proxyStage({ trusted: ['loopback'], headerBytesMax: 300 })
  const padded = (length: number) => encodeV2({ command: 'proxy', family: 'inet', source: { address: '1.2.3.4', port: 1 }, destination: { address: '5.6.7.8', port: 2 }, tlvs: [{ type: 0x04, value: Buffer.alloc(length - 31) }] })
  const atMax = new FakeConnection('127.0.0.1', 1)
  assert.deepEqual(run(stage, atMax, Buffer.concat([padded(300), REST])), REST)
  const over = new FakeConnection('127.0.0.1', 1)
  assert.equal(run(stage, over, Buffer.concat([padded(301), REST])), undefined)
  assert.ok(over.destroyed)
})

test('proxyStage() checks its options once, naming the bad one', () => {
  assert.throws(() => proxyStage({ trusted: [] }), /proxyProtocol\.trusted: expected a non-empty array/)
  assert.throws(() => proxyStage({ trusted: ['10.0.0.0/40'] }), /proxyProtocol\.trusted: "10\.0\.0\.0\/40"/)
  assert.throws(() => proxyStage({ trusted: ['loopback'], headerBytesMax: 231 }), /Invalid option proxyProtocol\.headerBytesMax: expected an integer from 232 to 65551, got 231/)
  assert.throws(() => proxyStage({ trusted: ['loopback'], headerBytesMax: 65552 }), RangeError)
  assert.doesNotThrow(() => proxyStage({ trusted: ['loopback'], headerBytesMax: 65551 }))
})
