import assert from 'node:assert/strict'
import { once } from 'node:events'
import { createServer, type AddressInfo } from 'node:net'
import { availableParallelism } from 'node:os'
import { after, describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import WebSocket from 'ws'
import { ListenError, serve, WirespeedError, type ServeOptions } from '../../src/index.ts'
import { SubscriberCounts } from '../../src/serve/subscriber-counts.ts'
import { assertNoOpenHandles, exchange, RawClient } from '../helpers/raw-client.ts'

after(assertNoOpenHandles)

const handlerModule = new URL('../thread/fixtures/handler.ts', import.meta.url)
const GET = (path: string) => `GET ${path} HTTP/1.1\r\nHost: a\r\n\r\n`
// serve() runs no more worker threads than this process may use cores, and serves on one event loop when
// that is one (pinned with taskset -c 0, say): the tests of worker threads then have none to test. (The one
// that kills its worker on purpose would end this process instead.)
const oneCore = availableParallelism() < 2 && `this process may use ${availableParallelism()} core: serve() starts no worker threads`

describe('serve({ workers })', () => {
  test('a handler module may export an app: a Hono app, or an object with routes and fetch', async () => {
    const hono = await serve({ port: 0, workers: 2, handlerModule: new URL('../thread/fixtures/hono-app.ts', import.meta.url), log: () => {} })
    try {
      const { replies, client } = await exchange(hono.port, GET('/'))
      client.close()
      assert.match(replies[0]!.body.toString(), /^hono on thread \d+$/)
    } finally {
      await hono.close()
    }
    const app = await serve({ port: 0, workers: 2, handlerModule: new URL('../thread/fixtures/app-object.ts', import.meta.url), log: () => {} })
    try {
      const route = await exchange(app.port, GET('/users/7'))
      route.client.close()
      assert.equal(route.replies[0]!.body.toString(), '{"id":"7"}')
      const fetched = await exchange(app.port, GET('/other'))
      fetched.client.close()
      assert.equal(fetched.replies[0]!.body.toString(), 'fetched /other', 'fetch is called on its object')
    } finally {
      await app.close()
    }
  })

  test('serves connections on both of 2 workers, and sums their counters', { skip: oneCore }, async () => {
    const lines: string[] = []
    const server = await serve({ port: 0, workers: 2, handlerModule, log: (line) => lines.push(line) })
    try {
      assert.equal(server.workers, 2)
      assert.match(lines.join('\n'), /serving with 2 worker threads \(reusePort\)/)
      const threads = new Set<string>()
      for (let i = 0; i < 40 && threads.size < 2; i++) {
        const { replies, client } = await exchange(server.port, GET('/'))
        threads.add(replies[0]!.body.toString())
        client.close()
      }
      assert.equal(threads.size, 2, `only thread(s) ${[...threads]} answered`)
      for (let i = 0; i < 1500 && server.stats().requests < 2; i++) await sleep(20) // up to 30 s, ends as they add up
      assert.ok(server.stats().requests >= 2)
    } finally {
      await server.close()
    }
  })

  test('replaces a worker killed on purpose and keeps answering', { skip: oneCore }, async () => {
    const lines: string[] = []
    const server = await serve({ port: 0, workers: 2, handlerModule, log: (line) => lines.push(line) })
    try {
      const { client } = await exchange(server.port, GET('/crash')).catch(() => ({ client: undefined }))
      client?.close()
      for (let i = 0; i < 1500 && server.restarts === 0; i++) await sleep(20) // up to 30 s, ends at the restart
      assert.equal(server.restarts, 1)
      assert.match(lines.join('\n'), /worker \d exited with code 3; starting a new one in 100 ms/)
      for (let i = 0; i < 10; i++) {
        const { replies, client: next } = await exchange(server.port, GET('/'))
        assert.equal(replies[0]!.status, 200)
        next.close()
      }
    } finally {
      await server.close()
    }
  })

  test('close() lets a slow download in flight finish on its worker', { skip: oneCore }, async () => {
    const server = await serve({ port: 0, workers: 2, handlerModule, log: () => {} })
    const client = await RawClient.open(server.port)
    client.send(GET('/slow'))
    await client.waitFor(() => client.received.length > 0)
    await server.close()
    const [reply] = await client.replies(1)
    assert.equal(reply!.body.toString(), '0;1;2;3;4;5;6;7;8;9;')
    client.close()
  })

  test('refuses a handler function with workers, and a bad worker count', async () => {
    // The types refuse this; a JavaScript caller is told at run time.
    await assert.rejects(serve({ port: 0, workers: 2, handler: () => {} } as unknown as ServeOptions), /a function cannot cross to a worker thread; export it from handlerModule/)
    await assert.rejects(serve({ port: 0, workers: 0, handlerModule }), /Invalid option workers: expected 'auto' or an integer/)
  })
})

describe('serve({ workers }) tells the main thread', () => {
  test('a ListenError from a worker arrives as a ListenError, naming the port option', async () => {
    const holder = createServer()
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve))
    const port = (holder.address() as AddressInfo).port
    try {
      for (const workers of [undefined, 2]) {
        await assert.rejects(serve({ port, workers, handlerModule, log: () => {} } as never), (error: unknown) => {
          assert.ok(error instanceof ListenError, `workers ${workers}: ${(error as Error)?.constructor?.name} ${error}`)
          assert.ok(error instanceof WirespeedError)
          assert.equal(error.code, 'LISTEN_FAILED')
          assert.equal(error.reason, 'EADDRINUSE')
          assert.equal(error.message, `Cannot listen on 127.0.0.1:${port}: the port is in use; pass another port (0 picks a free one) or stop what holds it`)
          return true
        })
      }
    } finally {
      holder.close()
    }
  })

  test('server.publish() and server.subscriberCount() count the subscribers of every worker', async () => {
    const server = await serve({ port: 0, workers: 2, handlerModule: new URL('../thread/fixtures/options-app.ts', import.meta.url), log: () => {} })
    const sockets: WebSocket[] = []
    try {
      const received: string[][] = []
      for (let i = 0; i < 6; i++) {
        const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws`)
        const messages: string[] = []
        received.push(messages)
        ws.on('message', (data) => messages.push(String(data)))
        sockets.push(ws)
      }
      await Promise.all(sockets.map((ws) => once(ws, 'open')))
      // The count crosses from the workers as they report it: wait for it (an event on another thread).
      for (let i = 0; i < 1000 && server.subscriberCount('room') < 6; i++) await sleep(10)
      assert.equal(server.subscriberCount('room'), 6)
      assert.equal(server.subscriberCount('nobody'), 0)
      assert.equal(server.publish('room', 'to all six'), 6)
      for (let i = 0; i < 1000 && received.some((messages) => !messages.includes('to all six')); i++) await sleep(10)
      assert.deepEqual(received.map((messages) => messages.includes('to all six')), [true, true, true, true, true, true])
      assert.equal(server.publish('nobody', 'to none'), 0)
      sockets[0]!.close()
      await once(sockets[0]!, 'close')
      for (let i = 0; i < 1000 && server.subscriberCount('room') > 5; i++) await sleep(10)
      assert.equal(server.subscriberCount('room'), 5)
    } finally {
      for (const ws of sockets) ws.terminate()
      await server.close()
    }
  })
})

describe('SubscriberCounts', () => {
  test('tracks topicsTrackedMax topics (N) and leaves out the next one (N+1), said once, until one is freed', () => {
    const lines: string[] = []
    const counts = new SubscriberCounts(2, 2, (line) => lines.push(line))
    counts.update(0, [['a', 1], ['b', 2]])
    counts.update(1, [['a', 3]])
    assert.equal(counts.count('a'), 4)
    assert.equal(counts.count('b'), 2)
    counts.update(1, [['c', 5], ['d', 1]])
    assert.equal(counts.count('c'), 0, 'a third topic is past the limit of 2')
    assert.equal(counts.size, 2)
    assert.deepEqual(lines, ["wirespeed: more than 2 WebSocket topics have subscribers; server.subscriberCount() and publish()'s count leave out the others (limits.topicsTrackedMax)"])
    counts.update(0, [['b', 0]])
    assert.equal(counts.size, 1, 'a topic no worker holds is deleted')
    counts.update(1, [['c', 6]])
    assert.equal(counts.count('c'), 6, 'the room freed is taken by the next report')
    counts.forget(1)
    assert.equal(counts.count('a'), 1, "a worker that exits takes its sockets' counts with it")
    assert.equal(counts.count('c'), 0)
    assert.equal(counts.size, 1)
  })

  test('serve({ workers, limits: { topicsTrackedMax } }) counts N topics and logs at N+1', { skip: oneCore }, async () => {
    const lines: string[] = []
    const server = await serve({ port: 0, workers: 2, handlerModule: new URL('../thread/fixtures/options-app.ts', import.meta.url), limits: { topicsTrackedMax: 1 }, log: (line) => lines.push(line) })
    const sockets: WebSocket[] = []
    const open = async (topic: string) => {
      const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws?topic=${topic}`)
      sockets.push(ws)
      await once(ws, 'open')
    }
    try {
      await open('a')
      for (let i = 0; i < 1000 && server.subscriberCount('a') < 1; i++) await sleep(10)
      assert.equal(server.subscriberCount('a'), 1)
      await open('b')
      for (let i = 0; i < 1000 && !lines.some((line) => line.includes('limits.topicsTrackedMax')); i++) await sleep(10)
      assert.match(lines.join('\n'), /more than 1 WebSocket topics have subscribers/)
      assert.equal(server.subscriberCount('b'), 0)
      assert.equal(server.subscriberCount('a'), 1)
    } finally {
      for (const ws of sockets) ws.terminate()
      await server.close()
    }
  })
})
