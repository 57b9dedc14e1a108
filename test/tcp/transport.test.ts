/*
 * The transport contract: what every backend of src/tcp must do, run once per backend that runs here (the
 * registry's, src/tcp/backends.ts): a new backend joins by its record and must pass every case unchanged.
 */
import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect as connectAny, listen as listenAny, ListenError, type Backend, type Connection, type ConnectOptions, type Handlers, type ListenOptions, type Listener, type Protocol } from '../../src/index.ts'
import { backendsHere } from '../../src/tcp/backends.ts'
import { handOff, protocolHandlers } from '../../src/tcp/protocol.ts'
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
  for (let i = 0; i < 3000 && !done(); i++) await sleep(10) // up to 30 s: it returns as soon as done() holds
  assert.ok(done(), `Timed out waiting for ${what}`)
}

/** Every backend this machine can run (the registry's, src/tcp/backends.ts). */
const backends: Backend[] = (await backendsHere()).here

for (const backend of backends) describe(`transport contract: ${backend} backend`, () => {
  const listen = <Data = unknown>(options: ListenOptions<Data>): Promise<Listener<Data>> => listenAny({ ...options, backend })
  const connect = <Data = unknown>(options: ConnectOptions<Data>): Promise<Connection<Data>> => connectAny({ ...options, backend })

  test('says which backend serves', async () => {
    const listener = await listen({ port: 0, handlers: echo })
    assert.equal(listener.backend, backend)
    await listener.close()
  })

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
  test('a peer that resets the connection closes it with an error', async () => {
    let closedWith: unknown = null
    const listener = await listen({ port: 0, handlers: { data() {}, close(_connection, error) { closedWith = error } } })
    const client = await RawClient.open(listener.port)
    client.send('x')
    await sleep(20)
    client.socket.resetAndDestroy()
    await until(() => closedWith !== null, 'the close')
    assert.ok(closedWith instanceof Error, 'close got the reset as an error')
    await listener.close()
  })

  test('write() after end() returns false and sends nothing, and a second end() is nothing', async () => {
    const results: boolean[] = []
    const listener = await listen({
      port: 0,
      handlers: {
        data(connection) {
          connection.end('last')
          results.push(connection.write('late'), connection.write(Buffer.from('later')))
          connection.end('too late')
          results.push(connection.closed)
        },
      },
    })
    const client = await RawClient.open(listener.port)
    client.send('x')
    await client.waitForClose()
    assert.equal(client.received.toString(), 'last')
    assert.deepEqual(results, [false, false, false])
    await listener.close()
  })

  test('destroy(error) drops what is unsent and gives the error to close, not to handlers.error', async () => {
    const failure = new Error('given up')
    const seen: string[] = []
    let closedWith: unknown = null
    const listener = await listen({
      port: 0,
      handlers: {
        data(connection) {
          connection.write('never sent')
          connection.destroy(failure)
          assert.equal(connection.write('after'), false)
        },
        error(_connection, error) { seen.push(`error ${error.message}`) },
        close(_connection, error) { closedWith = error },
      },
    })
    const client = await RawClient.open(listener.port)
    client.send('x')
    await client.waitForClose()
    await until(() => closedWith !== null, 'the close')
    assert.equal(closedWith, failure)
    assert.deepEqual(seen, [])
    assert.equal(client.received.length, 0)
    await listener.close()
  })

  test('a drain handler that writes, flushes and writes again loses nothing', async () => {
    const chunk = Buffer.alloc(64 * 1024, 66)
    let total = 0
    let rounds = 0
    const listener = await listen({
      port: 0,
      writeBufferBytesHigh: 16 * 1024,
      handlers: {
        data(connection) {
          while (connection.write(chunk)) total += chunk.length
          total += chunk.length
        },
        drain(connection) {
          if (rounds++ === 3) return connection.end()
          connection.write('a')
          connection.flush()
          connection.write('b')
          total += 2
          while (connection.write(chunk)) total += chunk.length
          total += chunk.length
        },
      },
    })
    const client = await RawClient.open(listener.port)
    client.send('x')
    await client.waitForClose()
    assert.equal(client.received.length, total)
    assert.equal(client.received.toString('latin1').replaceAll('B', ''), 'ab'.repeat(3))
    await listener.close()
  })

  test('write() after the connection closed returns false and sends nothing', async () => {
    let server: Connection | undefined
    const listener = await listen({ port: 0, handlers: { open(connection) { server = connection }, data() {} } })
    const client = await RawClient.open(listener.port)
    await until(() => server !== undefined, 'the accept')
    server!.destroy()
    await client.waitForClose()
    assert.equal(server!.write('late'), false)
    assert.equal(server!.closed, true)
    await listener.close()
  })

  test('open/close cycles leave no file descriptor behind', async () => {
    const listener = await listen({ port: 0, handlers: echo })
    const fds = () => readdirSync('/proc/self/fd').length
    for (let i = 0; i < 20; i++) {
      const client = await RawClient.open(listener.port)
      client.send('warm')
      await client.waitFor(() => client.received.length === 4)
      client.close()
    }
    await until(() => listener.connections.size === 0, 'the warm-up connections to close')
    const before = fds()
    for (let i = 0; i < 200; i++) {
      const client = await RawClient.open(listener.port)
      client.send('ping')
      await client.waitFor(() => client.received.length === 4)
      client.close()
    }
    await until(() => listener.connections.size === 0, 'every connection to close')
    assert.ok(fds() <= before + 2, `${fds()} descriptors open after 200 cycles, ${before} before`)
    await listener.close()
  })

  test('serves two thousand connections at once', async () => {
    const listener = await listen({ port: 0, backlog: 4096, handlers: echo })
    const clients: RawClient[] = []
    for (let i = 0; i < 2000; i += 200) clients.push(...(await Promise.all(Array.from({ length: 200 }, () => RawClient.open(listener.port)))))
    clients.forEach((client, i) => client.send(`${i};`))
    await Promise.all(clients.map((client, i) => client.waitFor(() => client.received.toString() === `${i};`, 10_000, `echo ${i}`)))
    assert.equal(listener.connections.size, 2000)
    for (const client of clients) client.close()
    await until(() => listener.connections.size === 0, 'every connection to close')
    await listener.close()
  })

  test('a protocol hands its connection on with the bytes it has not consumed, in order', async () => {
    // The first protocol reads one line ("UPGRADE\n"), answers, then hands the rest to an echo protocol.
    const seen: string[] = []
    const echoProtocol = (connection: Connection<Protocol>): Protocol => ({
      onData(bytes) { seen.push(`echo:${bytes}`); connection.write(bytes) },
      onDrain() {},
      onEnd() { connection.end() },
      onClose() {},
    })
    const lineProtocol = (connection: Connection<Protocol>): Protocol => ({
      onData(bytes) {
        const newline = bytes.indexOf(0x0a)
        if (newline < 0) return
        seen.push(`line:${bytes.subarray(0, newline)}`)
        connection.write('OK\n')
        handOff(connection, echoProtocol(connection), bytes.subarray(newline + 1))
      },
      onDrain() {},
      onEnd() { connection.end() },
      onClose() {},
    })
    const listener = await listen({ port: 0, handlers: protocolHandlers(lineProtocol) })
    const client = await RawClient.open(listener.port)
    client.send('UPGRADE\nfirst')
    await client.waitFor(() => client.received.toString() === 'OK\nfirst')
    client.send('second')
    await client.waitFor(() => client.received.toString() === 'OK\nfirstsecond')
    assert.deepEqual(seen, ['line:UPGRADE', 'echo:first', 'echo:second'])
    client.close()
    await listener.close()
  })

  test('a Unix socket listener removes its file on close, so the next listen on the path succeeds (as node:net does)', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'wirespeed-unix-'))
    const path = join(folder, 'echo.sock')
    try {
      for (let round = 0; round < 2; round++) {
        const listener = await listen({ port: 0, path, handlers: echo })
        assert.ok(existsSync(path), 'the socket file exists while listening')
        const got = collector()
        const connection = await connect({ port: 0, path, handlers: got.handlers })
        connection.write(`round ${round}`)
        await until(() => got.text === `round ${round}`, 'the echo')
        connection.end()
        await got.closed
        await listener.close()
        assert.equal(existsSync(path), false, `the socket file is gone after close (round ${round})`)
      }
    } finally {
      rmSync(folder, { recursive: true, force: true })
    }
  })

  test('listening on a Unix path that is taken names the path, and speaks of no port', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'wirespeed-unix-'))
    const path = join(folder, 'taken.sock')
    try {
      writeFileSync(path, 'not a socket')
      await assert.rejects(listen({ port: 0, path, handlers: echo }), (error: unknown) => {
        assert.ok(error instanceof ListenError)
        assert.equal(error.reason, 'EADDRINUSE')
        assert.equal(error.message, `Cannot listen on ${path}: something is already there: a server listening, or a socket file one left behind (remove it if nothing listens)`)
        return true
      })
      assert.equal(readFileSync(path, 'utf8'), 'not a socket', 'a refused listen leaves what was there alone')
    } finally {
      rmSync(folder, { recursive: true, force: true })
    }
  })
})
