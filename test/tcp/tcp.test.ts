import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { connect, listen, type Connection, type Handlers } from '../../src/index.ts'
import { assertNoOpenHandles, RawClient } from '../helpers/raw-client.ts'

after(assertNoOpenHandles)

const echo: Handlers = { data(connection, bytes) { connection.write(bytes) } }

/** Collects what a client connection receives; resolves `closed` when it closes. */
function collector() {
  let received = Buffer.alloc(0)
  let reads = 0
  let onClose: () => void = () => {}
  const closed = new Promise<void>((resolve) => (onClose = resolve))
  const handlers: Handlers = {
    data(_connection, bytes) {
      received = Buffer.concat([received, bytes])
      reads++
    },
    close() {
      onClose()
    },
  }
  return { handlers, closed, get text() { return received.toString() }, get reads() { return reads } }
}

async function until(done: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500 && !done(); i++) await sleep(10)
  assert.ok(done(), `Timed out waiting for ${what}`)
}

describe('tcp listen/connect', () => {
  test('echoes through one shared handlers object, with per-connection data', async () => {
    const opened: Connection<{ n: number }>[] = []
    const listener = await listen<{ n: number }>({
      port: 0,
      handlers: {
        open(connection) {
          connection.data = { n: opened.push(connection) }
        },
        data(connection, bytes) {
          connection.write(`${connection.data.n}:${bytes}`)
        },
      },
    })
    const a = collector()
    const b = collector()
    const first = await connect({ port: listener.port, handlers: a.handlers })
    const second = await connect({ port: listener.port, handlers: b.handlers })
    first.write('x')
    await until(() => a.text === '1:x', 'the first echo')
    second.write('y')
    await until(() => b.text === '2:y', 'the second echo')
    first.destroy()
    second.destroy()
    await Promise.all([a.closed, b.closed])
    await listener.close()
  })

  test('sends everything written during one read in one write', async () => {
    const listener = await listen({ port: 0, handlers: { data(connection) { for (let i = 0; i < 50; i++) connection.write(`${i},`) } } })
    const client = await RawClient.open(listener.port)
    let reads = 0
    client.socket.on('data', () => reads++)
    client.send('go')
    await client.waitFor(() => client.received.toString().endsWith('49,'))
    assert.equal(reads, 1)
    client.close()
    await listener.close()
  })

  test('batches writes made outside a read and sends them on the next tick', async () => {
    const c = collector()
    const listener = await listen({ port: 0, handlers: echo })
    const connection = await connect({ port: listener.port, handlers: c.handlers })
    connection.write('a')
    connection.write(Buffer.from('b'))
    connection.write('c')
    await until(() => c.text === 'abc', 'the echo of abc')
    connection.destroy()
    await c.closed
    await listener.close()
  })

  test('reports backpressure, pauses reading, and fires drain when the buffer clears', async () => {
    let drained = 0
    let blockedAt = -1
    const listener = await listen({
      port: 0,
      writeBufferBytesHigh: 16 * 1024,
      handlers: {
        data(connection) {
          for (let i = 0; i < 1000; i++) {
            if (!connection.write(Buffer.alloc(1024, 65))) {
              blockedAt = i
              break
            }
          }
          assert.equal(connection.readPaused || !connection.writeBlocked, true)
        },
        drain() {
          drained++
        },
      },
    })
    const client = await RawClient.open(listener.port)
    client.socket.pause()
    client.send('go')
    await until(() => blockedAt >= 0, 'backpressure')
    assert.ok(blockedAt >= 15 && blockedAt < 1000, `write() returned false at ${blockedAt}`)
    client.socket.resume()
    await until(() => drained === 1, 'drain')
    client.close()
    await listener.close()
  })

  test('half-closes with end(): the peer reads everything, then sees the end', async () => {
    const listener = await listen({ port: 0, handlers: { data(connection, bytes) { connection.end(bytes) } } })
    const client = await RawClient.open(listener.port)
    client.send('bye')
    await client.waitForClose()
    assert.equal(client.received.toString(), 'bye')
    client.close()
    await listener.close()
  })

  test('lets handlers.end answer after the peer half-closes', async () => {
    const listener = await listen({ port: 0, handlers: { data() {}, end(connection) { connection.end('after your FIN') } } })
    const client = await RawClient.open(listener.port)
    client.socket.end()
    await client.waitForClose()
    assert.equal(client.received.toString(), 'after your FIN')
    await listener.close()
  })

  test('closes idle connections after idleTimeoutMs, or calls handlers.timeout', async () => {
    const listener = await listen({ port: 0, idleTimeoutMs: 50, handlers: echo })
    const client = await RawClient.open(listener.port)
    await client.waitForClose()
    await listener.close()
    let timedOut = 0
    const custom = await listen({ port: 0, idleTimeoutMs: 50, handlers: { ...echo, timeout(connection) { timedOut++; connection.end('late') } } })
    const other = await RawClient.open(custom.port)
    await other.waitForClose()
    assert.equal(timedOut, 1)
    assert.equal(other.received.toString(), 'late')
    await custom.close()
  })

  test('resolves localhost and listens on ::1', async () => {
    for (const host of ['localhost', '::1']) {
      const listener = await listen({ host, port: 0, handlers: echo })
      const c = collector()
      const connection = await connect({ host, port: listener.port, handlers: c.handlers })
      connection.write('hi')
      await until(() => c.text === 'hi', `the echo over ${host}`)
      connection.destroy()
      await c.closed
      await listener.close()
    }
  })

  test('fails with clear messages for a bad port, a port in use, an unknown host and a refused connection', async () => {
    await assert.rejects(listen({ port: -1, handlers: echo }), /Invalid option port: expected an integer from 0 to 65535, got -1/)
    const listener = await listen({ port: 0, handlers: echo })
    await assert.rejects(listen({ port: listener.port, handlers: echo }), /Cannot listen on 127\.0\.0\.1:\d+: the port is in use/)
    await assert.rejects(listen({ host: 'no-such-host.invalid', port: 0, handlers: echo }), /Cannot resolve host no-such-host\.invalid/)
    const port = listener.port
    await listener.close()
    await assert.rejects(connect({ port, handlers: echo }), /Cannot connect to 127\.0\.0\.1:\d+: ECONNREFUSED/)
  })
})
