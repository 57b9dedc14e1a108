/*
 * The contract of the stages before open (src/tcp/stages.ts), on every backend: a trivial stage that
 * consumes a magic line, at every split of the bytes; a stage that ends the connection; a stage that sets
 * the peer; two stages in a row; the deadline and the byte limit at N and N+1.
 */
import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import { listen as listenAny, type Backend, type Connection, type ListenOptions, type Listener } from '../../src/index.ts'
import { backendsHere } from '../../src/tcp/backends.ts'
import { STAGE_MORE, type Stage } from '../../src/tcp/stages.ts'
import { assertNoOpenHandles, RawClient } from '../helpers/raw-client.ts'
import { recorder } from '../helpers/recorder.ts'

after(assertNoOpenHandles)

const MAGIC = 'MAGIC\n'

/** Consumes `line` whole, or destroys a connection whose first bytes differ; counts the bytes it was shown. */
function magicStage(line = MAGIC): Stage & { shown: number } {
  return {
    name: 'magic line',
    shown: 0,
    take(bytes, connection) {
      this.shown = bytes.length
      const have = bytes.subarray(0, line.length).toString('latin1')
      if (!line.startsWith(have)) {
        connection.destroy()
        return 0
      }
      return bytes.length < line.length ? STAGE_MORE : line.length
    },
  }
}

const backends: Backend[] = (await backendsHere()).here

for (const backend of backends) describe(`stages before open: ${backend} backend`, () => {
  const listen = <Data = unknown>(options: ListenOptions<Data>): Promise<Listener<Data>> => listenAny({ ...options, backend })

  test('a stage consumes its prefix; the protocol opens after it and gets the rest of the same read', async () => {
    const { events, handlers } = recorder()
    const listener = await listen({ port: 0, handlers, stages: [magicStage()] })
    const client = await RawClient.open(listener.port)
    client.send(`${MAGIC}hello`)
    await client.waitFor(() => client.received.toString() === 'echo hello')
    assert.equal(events.length, 2)
    assert.match(events[0]!, /^open 127\.0\.0\.1:\d+$/)
    assert.equal(events[1], 'data hello')
    client.close()
    await listener.close()
  })

  test('the prefix split at every byte: the protocol sees exactly what follows it', async () => {
    const whole = `${MAGIC}hi`
    for (let split = 1; split < whole.length; split++) {
      const stage = magicStage()
      const { events, handlers } = recorder()
      const listener = await listen({ port: 0, handlers, stages: [stage] })
      const client = await RawClient.open(listener.port)
      client.send(whole.slice(0, split))
      // The first part arrives alone (the stage has been shown it), then the rest.
      await client.waitFor(() => stage.shown === split, 5000, `the first ${split} bytes at the stage`)
      const opened = events.filter((event) => event.startsWith('open')).length
      assert.equal(opened, split >= MAGIC.length ? 1 : 0, `opened only once the prefix is whole (split ${split})`)
      client.send(whole.slice(split))
      await client.waitFor(() => client.received.toString().endsWith('i'), 5000, `the echo (split ${split})`)
      assert.equal(events.filter((event) => event.startsWith('open')).length, 1)
      assert.equal(events.filter((event) => event.startsWith('data')).map((event) => event.slice(5)).join(''), 'hi')
      assert.equal(client.received.toString().replaceAll('echo ', ''), 'hi')
      client.close()
      await listener.close()
    }
  })

  test('a stage that ends the connection: what it writes arrives, then the close; the protocol never opens', async () => {
    const { events, handlers } = recorder()
    let calls = 0
    const refusing: Stage = { name: 'refusal', take(_bytes, connection) { calls++; connection.end('refused\n'); return 0 } }
    const listener = await listen({ port: 0, handlers, stages: [refusing, magicStage()] })
    const client = await RawClient.open(listener.port)
    client.send(`${MAGIC}hello`)
    await client.waitFor(() => client.received.length > 0, 5000, 'the refusal')
    // What the peer sends after the refusal reaches no stage (the connection is ending).
    client.send('more')
    await client.waitForClose()
    assert.equal(client.received.toString(), 'refused\n')
    assert.deepEqual(events, [])
    assert.equal(calls, 1)
    await listener.close()
  })

  test('a wrong prefix destroys the connection before any protocol sees it', async () => {
    const { events, handlers } = recorder()
    const listener = await listen({ port: 0, handlers, stages: [magicStage()] })
    const client = await RawClient.open(listener.port)
    client.send('GET / HTTP/1.1\r\n\r\n')
    await client.waitForClose()
    assert.equal(client.received.length, 0)
    assert.deepEqual(events, [])
    await listener.close()
  })

  test('two stages in a row, the second setting the peer the protocol sees', async () => {
    const { events, handlers } = recorder()
    const peer: Stage = {
      name: 'peer line',
      take(bytes, connection) {
        const end = bytes.indexOf('\n')
        if (end < 0) return STAGE_MORE
        const [address, port] = bytes.toString('latin1', 0, end).split(' ')
        connection.setPeer(address!, Number(port))
        return end + 1
      },
    }
    const listener = await listen({ port: 0, handlers, stages: [magicStage(), peer] })
    const client = await RawClient.open(listener.port)
    client.send(`${MAGIC}203.0.113.7 4242\nhello`)
    await client.waitFor(() => client.received.toString() === 'echo hello')
    assert.deepEqual(events, ['open 203.0.113.7:4242', 'data hello'])
    client.close()
    await listener.close()
  })

  test('stageTimeoutMs: a connection still in its stages when it passes is closed unopened', async () => {
    const { events, handlers } = recorder()
    const listener = await listen({ port: 0, handlers, stages: [magicStage()], stageTimeoutMs: 50 })
    const client = await RawClient.open(listener.port)
    client.send('MAG')
    await client.waitForClose()
    assert.deepEqual(events, [])
    // One that finishes its stages in time stays open past the deadline (the protocol owns it then).
    const second = await RawClient.open(listener.port)
    second.send(`${MAGIC}x`)
    await second.waitFor(() => second.received.toString() === 'echo x')
    await new Promise((resolve) => setTimeout(resolve, 120))
    assert.equal(second.closed, false)
    second.close()
    await listener.close()
  })

  test('stageBytesMax at N and N+1: a prefix of N bytes opens, of N+1 is refused; a stage may hold N bytes, not N+1', async () => {
    const line = 'x'.repeat(99) + '\n'
    for (const [bytesMax, opens] of [[line.length, true], [line.length - 1, false]] as const) {
      const { events, handlers } = recorder()
      const listener = await listen({ port: 0, handlers, stages: [magicStage(line)], stageBytesMax: bytesMax })
      const client = await RawClient.open(listener.port)
      client.send(`${line}y`)
      if (opens) await client.waitFor(() => client.received.toString() === 'echo y')
      else await client.waitForClose()
      assert.equal(events.length, opens ? 2 : 0, `stageBytesMax ${bytesMax}`)
      client.close()
      await listener.close()
    }
    const waiting: Stage & { shown: number } = { name: 'never done', shown: 0, take(bytes) { this.shown = bytes.length; return STAGE_MORE } }
    const listener = await listen({ port: 0, handlers: recorder().handlers, stages: [waiting], stageBytesMax: 64 })
    const client = await RawClient.open(listener.port)
    client.send('z'.repeat(64))
    await client.waitFor(() => waiting.shown === 64, 5000, 'the 64 bytes at the stage')
    assert.equal(client.closed, false)
    client.send('z')
    await client.waitForClose()
    await listener.close()
  })

  test('the stage limits are checked at N and N+1 when the listener starts', async () => {
    const handlers = recorder().handlers
    await assert.rejects(listen({ port: 0, handlers, stageBytesMax: (1 << 20) + 1 }), /Invalid option stageBytesMax: expected an integer from 1 to 1048576/)
    await assert.rejects(listen({ port: 0, handlers, stageTimeoutMs: 0 }), /Invalid option stageTimeoutMs: expected an integer from 1 to 3600000/)
    const listener = await listen({ port: 0, handlers, stageBytesMax: 1 << 20, stageTimeoutMs: 3_600_000 })
    await listener.close()
  })

  test('a peer that half-closes or leaves during the stages: closed, never opened, nothing leaks', async () => {
    const { events, handlers } = recorder()
    let closed = 0
    const listener = await listen<unknown>({ port: 0, handlers: { ...handlers, close() { closed++ } }, stages: [magicStage()] })
    const first = await RawClient.open(listener.port)
    first.send('MA')
    first.socket.end()
    await first.waitForClose()
    const second = await RawClient.open(listener.port)
    second.send('MA')
    second.socket.resetAndDestroy()
    await listener.close()
    assert.deepEqual(events, [])
    assert.equal(closed, 0, 'handlers.close is the protocol\'s: a connection never opened does not reach it')
  })
})

test('a listener without stages gives connections the protocol handlers at accept (nothing per read)', async () => {
  let connection: Connection | undefined
  const listener = await listenAny({ port: 0, handlers: { open(one) { connection = one }, data() {} } })
  const client = await RawClient.open(listener.port)
  await client.waitFor(() => connection !== undefined, 5000, 'the open')
  client.close()
  await listener.close()
})
