/*
 * The ServerWebSocket API and its limits over real sockets: send()'s backpressure report (bytes, -1, 0) and
 * drain, a client slower than every timeout (everything arrives), a client that never reads (memory bounded,
 * cut by the send timeout only), the idle ping and close, pub/sub bookkeeping, handler errors (1011), abrupt
 * disconnects (1006), terminate(), graceful server close (1001), publish to a subscriber that never reads
 * (bounded, then cut) beside one that reads, and workers (topics per worker, a publish
 * from the main thread reaching every worker).
 */
import assert from 'node:assert/strict'
import { after, test } from 'node:test'
import { serve, type OneLoopServeOptions, type Server, type ServerWebSocket } from '../../src/index.ts'
import { assertNoOpenHandles } from '../helpers/raw-client.ts'
import { clientFrame, closePayload, upgradeRequest, WsClient } from '../helpers/ws-client.ts'

after(assertNoOpenHandles)

async function withServer(options: Omit<OneLoopServeOptions, 'handler'>, body: (server: Server) => Promise<void>): Promise<void> {
  const server = await serve({ port: 0, handler: (_request, response) => void response.upgrade(), onError: () => {}, ...options } as OneLoopServeOptions)
  try {
    await body(server)
  } finally {
    await server.close()
  }
}

/** Waits until `done()` holds: it returns at once then, and the default bound holds on a loaded machine. */
async function waitFor(done: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

test('send() reports bytes queued, -1 past the high-water mark, 0 past backpressureBytesMax; drain follows', async () => {
  const results: number[] = []
  let drained = 0
  await withServer({
    limits: { writeBufferBytesHigh: 64 * 1024 },
    websocket: {
      backpressureBytesMax: 256 * 1024,
      message(ws) {
        const chunk = Buffer.alloc(50 * 1024, 1)
        for (let index = 0; index < 12; index++) results.push(ws.send(chunk))
      },
      drain: () => void drained++,
    },
  }, async (server) => {
    const client = await WsClient.open(server.port)
    client.socket.pause()
    client.send(clientFrame(1, 'go'))
    await waitFor(() => results.length === 12, 'the sends')
    assert.equal(results[0], 50 * 1024 + 4)
    assert.ok(results.includes(-1), `no -1 in ${results}`)
    assert.ok(results.includes(0), `no 0 in ${results}`)
    assert.ok(results.indexOf(-1) < results.indexOf(0))
    const queued = results.filter((each) => each !== 0).length
    client.socket.resume()
    let frames = 0
    while (frames < queued) {
      await client.frame()
      frames++
    }
    await waitFor(() => drained > 0, 'drain')
    client.close()
  })
})

test('a client slower than every timeout gets every message whole; one that never reads is cut by sendTimeoutMs only', async () => {
  const total = 24 << 20
  const message = Buffer.alloc(64 * 1024, 7)
  let closeCode = 0
  await withServer({
    limits: { sendTimeoutMs: 1500, idleTimeoutMs: 200, headersTimeoutMs: 200 },
    websocket: {
      idleTimeoutMs: 300,
      closeTimeoutMs: 200,
      async message(ws) {
        for (let sent = 0; sent < total; sent += message.length) {
          if (ws.send(message) === -1) await new Promise<void>((resolve) => drainWaiters.push(resolve))
        }
      },
      drain: () => drainWaiters.splice(0).forEach((wake) => wake()),
      close: (_ws, code) => void (closeCode = code),
    },
  }, async (server) => {
    // Slow: 8 MiB/s, 3 s in all, ten times the idle timeout (300 ms) and twice the send timeout (1.5 s).
    const slow = await WsClient.open(server.port)
    let received = 0
    let allowed = 64 * 1024
    slow.socket.on('data', (bytes: Buffer) => {
      received += bytes.length
      if (received >= allowed) slow.socket.pause()
    })
    const pace = setInterval(() => {
      allowed += (8 << 20) / 100
      if (received < allowed) slow.socket.resume()
    }, 10)
    const started = Date.now()
    slow.send(clientFrame(1, 'go'))
    let bytes = 0
    try {
      while (bytes < total) bytes += (await slow.frame(10_000)).payload.length
    } finally {
      clearInterval(pace)
    }
    assert.equal(bytes, total)
    assert.ok(Date.now() - started > 1800, `the read took ${Date.now() - started} ms, not longer than the timeouts`)
    slow.close()
    await waitFor(() => closeCode !== 0, 'the slow socket to close')

    // Never reads: the server holds what backpressure allows, then drops it after sendTimeoutMs.
    closeCode = 0
    const stalled = await WsClient.open(server.port)
    stalled.socket.pause()
    const stalledAt = Date.now()
    stalled.send(clientFrame(1, 'go'))
    await waitFor(() => closeCode !== 0, 'the stalled peer to be dropped')
    assert.equal(closeCode, 1006)
    assert.ok(Date.now() - stalledAt >= 1500, 'dropped before the send timeout')
    stalled.close()
  })
})
const drainWaiters: (() => void)[] = []

test('publish to a subscriber that never reads: its queue stays under backpressureBytesMax (drops beyond), a reading one gets every message, and the stalled one is cut by sendTimeoutMs', async () => {
  const sockets: ServerWebSocket[] = []
  let closes = 0
  await withServer({
    limits: { sendTimeoutMs: 1000 },
    websocket: { backpressureBytesMax: 1 << 20, open: (ws) => void (sockets.push(ws), ws.subscribe('feed')), message() {}, close: () => void closes++ },
  }, async (server) => {
    const stalled = await WsClient.open(server.port)
    stalled.socket.pause()
    const reader = await WsClient.open(server.port)
    await waitFor(() => sockets.length === 2, 'two subscribers')
    const message = Buffer.alloc(32 * 1024, 1)
    let most = 0
    let readerFrames = 0
    // 400 messages of 32 KiB (12.5 MiB) to each, the reader reading as it comes.
    for (let index = 0; index < 400; index++) {
      server.publish('feed', message)
      most = Math.max(most, sockets[0]!.getBufferedAmount())
      if (index % 20 === 19) {
        while (readerFrames < index + 1) {
          await reader.frame()
          readerFrames++
        }
      }
    }
    assert.equal(readerFrames, 400)
    // The stalled socket holds at most the limit and one message more (the kernel's buffers aside).
    assert.ok(most <= (1 << 20) + message.length + 64, `queued ${most} bytes for a peer that never reads`)
    assert.ok(most > (1 << 20) - message.length, `the queue never reached the limit (${most} bytes): the drop was not exercised`)
    await waitFor(() => closes === 1, 'the stalled subscriber to be cut')
    assert.equal(sockets[0]!.readyState, 3)
    assert.equal(sockets[1]!.readyState, 1)
    stalled.close()
    reader.close()
  })
})

test('a quiet socket is pinged at half of idleTimeoutMs and closed with 1001 at it; pongs keep it open', async () => {
  await withServer({ websocket: { idleTimeoutMs: 400, message() {} } }, async (server) => {
    const quiet = await WsClient.open(server.port)
    const ping = await quiet.frame()
    assert.equal(ping.opcode, 9)
    const close = await quiet.closeFrame()
    assert.equal(close.code, 1001)
    quiet.close()

    const lively = await WsClient.open(server.port)
    const started = Date.now()
    while (Date.now() - started < 1200) {
      const frame = await lively.frame()
      assert.equal(frame.opcode, 9, 'only pings while the peer answers')
      lively.send(clientFrame(10, frame.payload))
    }
    lively.close()
  })
})

test('pub/sub: subscribe, isSubscribed, subscriptions, unsubscribe, subscriberCount, and unsubscribed at close', async () => {
  const sockets: ServerWebSocket[] = []
  await withServer({
    websocket: {
      open(ws) {
        sockets.push(ws)
        ws.subscribe('a')
        ws.subscribe('b')
      },
      message(ws, message) {
        if (message === 'leave b') ws.unsubscribe('b')
        ws.send(JSON.stringify([ws.isSubscribed('a'), ws.isSubscribed('b'), ws.subscriptions]))
      },
    },
  }, async (server) => {
    const one = await WsClient.open(server.port)
    const two = await WsClient.open(server.port)
    await waitFor(() => sockets.length === 2, 'two sockets')
    assert.deepEqual([server.subscriberCount('a'), server.subscriberCount('b'), server.subscriberCount('none')], [2, 2, 0])
    one.send(clientFrame(1, 'leave b'))
    assert.deepEqual(JSON.parse((await one.frame()).payload.toString()), [true, false, ['a']])
    assert.equal(server.subscriberCount('b'), 1)
    assert.equal(server.publish('b', 'to b'), 1)
    assert.equal((await two.frame()).payload.toString(), 'to b')
    two.close()
    await waitFor(() => server.subscriberCount('a') === 1, 'the closed socket to leave its topics')
    assert.equal(server.subscriberCount('b'), 0)
    assert.equal(sockets[1]!.readyState, 3)
    assert.equal(sockets[1]!.send('late'), 0)
    one.close()
  })
})

test('a handler that throws closes its socket with 1011 and reaches onError; others go on', async () => {
  const errors: unknown[] = []
  await withServer({
    onError: (error) => errors.push(error),
    websocket: {
      message(ws, message) {
        if (message === 'throw') throw new Error('boom')
        ws.send(message)
      },
    },
  }, async (server) => {
    const bad = await WsClient.open(server.port)
    const good = await WsClient.open(server.port)
    bad.send(clientFrame(1, 'throw'))
    assert.equal((await bad.closeFrame()).code, 1011)
    good.send(clientFrame(1, 'fine'))
    assert.equal((await good.frame()).payload.toString(), 'fine')
    assert.match(String(errors[0]), /boom/)
    bad.close()
    good.close()
  })
})

test('the close handler gets 1006 when the connection drops without a close frame, and after terminate()', async () => {
  const codes: number[] = []
  await withServer({
    websocket: {
      message: (ws, message) => (message === 'terminate' ? ws.terminate() : undefined),
      close: (_ws, code) => void codes.push(code),
    },
  }, async (server) => {
    const dropped = await WsClient.open(server.port)
    dropped.close()
    await waitFor(() => codes.length === 1, 'the first close')
    const terminated = await WsClient.open(server.port)
    terminated.send(clientFrame(1, 'terminate'))
    await terminated.waitEnd()
    terminated.close()
    await waitFor(() => codes.length === 2, 'the second close')
    assert.deepEqual(codes, [1006, 1006])
  })
})

test('server.close() sends 1001 to every open socket and resolves once they answer', async () => {
  const server = await serve({ port: 0, handler: (_request, response) => void response.upgrade(), websocket: { message() {} } })
  const client = await WsClient.open(server.port)
  const closing = server.close()
  const close = await client.closeFrame()
  assert.deepEqual([close.code, close.reason], [1001, 'Server shutting down'])
  client.send(clientFrame(8, closePayload(1001)))
  await client.waitEnd()
  client.close()
  await closing
})

test('with workers, each worker serves its own sockets, and server.publish() reaches the sockets of every worker', async () => {
  const server = await serve({ port: 0, workers: 2, handlerModule: new URL('./fixtures/ws-app.ts', import.meta.url), log: () => {} })
  try {
    const clients = await Promise.all(Array.from({ length: 8 }, () => WsClient.open(server.port, upgradeRequest('/ws'))))
    for (const client of clients) assert.equal(client.status, 101)
    // Each socket says which worker holds it; a publish from the main thread reaches all eight.
    const workers = new Set<string>()
    for (const client of clients) workers.add((await client.frame()).payload.toString())
    server.publish('all', 'everyone')
    for (const client of clients) assert.equal((await client.frame()).payload.toString(), 'everyone')
    clients[0]!.send(clientFrame(1, 'echo me'))
    assert.equal((await clients[0]!.frame()).payload.toString(), 'echo me')
    for (const client of clients) client.close()
    assert.ok(workers.size >= 1)
  } finally {
    await server.close()
  }
})

test('a route that returns response.upgrade(): true is a WebSocket with nothing more to send, false gets 426 with Upgrade, a bad upgrade keeps its own refusal', async () => {
  const errors: unknown[] = []
  const server = await serve({
    port: 0,
    onError: (error) => void errors.push(error),
    // The shape issue 14 and Bun users write: the route's value is what upgrade() returned.
    routes: { 'GET /chat': (_request, response) => response.upgrade({ data: 'lobby' }), 'GET /later': async (_request, response) => response.upgrade() },
    websocket: { message: (ws, message) => void ws.send(`${ws.data}:${message}`) },
  })
  try {
    for (const path of ['/chat', '/later']) {
      const client = await WsClient.open(server.port, upgradeRequest(path))
      assert.equal(client.status, 101)
      client.send(clientFrame(0x1, Buffer.from('hi')))
      const frame = await client.frame()
      assert.equal(frame.payload.toString(), path === '/chat' ? 'lobby:hi' : 'undefined:hi')
      client.socket.destroy()
    }
    const plain = await WsClient.open(server.port, 'GET /chat HTTP/1.1\r\nHost: a\r\n\r\n')
    assert.equal(plain.status, 426)
    assert.equal(plain.headers.get('upgrade'), 'websocket')
    plain.socket.destroy()
    const badVersion = await WsClient.open(server.port, upgradeRequest('/chat', { 'Sec-WebSocket-Version': '8' }))
    assert.equal(badVersion.status, 426)
    assert.equal(badVersion.headers.get('sec-websocket-version'), '13', 'the handshake refusal itself, not a second reply')
    badVersion.socket.destroy()
    assert.deepEqual(errors, [])
  } finally {
    await server.close()
  }
})
