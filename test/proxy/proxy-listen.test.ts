/*
 * proxyStage() on a real listener, on every backend here, through the stage chain (src/tcp/stages.ts, via
 * listen()'s internal `stages` option until `proxyProtocol` is wired): the protocol opens with the
 * header's source as its peer and gets the bytes after the header; an untrusted peer, plain HTTP where a
 * header must be, and a v1 line over 107 bytes are closed without the protocol ever opening.
 */
import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import { listen as listenAny, type Backend, type ListenOptions, type Listener } from '../../src/index.ts'
import { proxyStage } from '../../src/proxy/proxy-stage.ts'
import { backendsHere } from '../../src/tcp/backends.ts'
import { assertNoOpenHandles, RawClient } from '../helpers/raw-client.ts'
import { recorder } from '../helpers/recorder.ts'
import { encodeV2 } from './encode-proxy-header.ts'

after(assertNoOpenHandles)

const backends: Backend[] = (await backendsHere()).here

for (const backend of backends) describe(`PROXY stage: ${backend} backend`, () => {
  const listen = <Data = unknown>(options: ListenOptions<Data>): Promise<Listener<Data>> => listenAny({ ...options, backend })

  test('a v1 header sent one byte at a time gives the protocol the client\'s address and the bytes after it', async () => {
    const { events, handlers } = recorder()
    const listener = await listen({ port: 0, handlers, stages: [proxyStage({ trusted: ['loopback'] })] })
    const client = await RawClient.open(listener.port)
    await client.sendInPieces('PROXY TCP4 203.0.113.7 10.0.0.1 51234 80\r\nhello', 1)
    // The payload may come in several reads: what the protocol got, joined.
    const payload = () => events.slice(1).map((event) => event.slice('data '.length)).join('')
    await client.waitFor(() => payload() === 'hello')
    assert.equal(events[0], 'open 203.0.113.7:51234')
    client.close()
    await listener.close()
  })

  test('a v2 header with the payload in the same write gives the client\'s IPv6 address', async () => {
    const { events, handlers } = recorder()
    const listener = await listen({ port: 0, handlers, stages: [proxyStage({ trusted: ['127.0.0.1'] })] })
    const client = await RawClient.open(listener.port)
    const header = encodeV2({ command: 'proxy', family: 'inet6', source: { address: '2001:db8::7', port: 40000 }, destination: { address: '::1', port: 443 }, crc: true })
    client.send(Buffer.concat([header, Buffer.from('hello')]))
    await client.waitFor(() => client.received.toString() === 'echo hello')
    assert.deepEqual(events, ['open 2001:db8::7:40000', 'data hello'])
    client.close()
    await listener.close()
  })

  test('an untrusted peer, HTTP without a header and a v1 line of 108 bytes are closed unopened', async () => {
    const refused: string[] = []
    for (const [trusted, bytes] of [
      [['10.0.0.0/8'], 'PROXY TCP4 203.0.113.7 10.0.0.1 51234 80\r\nhello'],
      [['loopback'], 'GET / HTTP/1.1\r\nHost: a\r\n\r\n'],
      [['loopback'], `PROXY UNKNOWN ${'x'.repeat(108 - 'PROXY UNKNOWN \r\n'.length)}\r\nhello`],
    ] as const) {
      const { events, handlers } = recorder()
      const listener = await listen({ port: 0, handlers, stages: [proxyStage({ trusted, onRefused: (reason) => refused.push(reason) })] })
      const client = await RawClient.open(listener.port)
      client.send(bytes)
      await client.waitFor(() => client.closed)
      assert.deepEqual(events, [])
      assert.equal(client.received.length, 0)
      await listener.close()
    }
    assert.equal(refused.length, 3)
  })
})
