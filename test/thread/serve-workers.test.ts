import assert from 'node:assert/strict'
import { availableParallelism } from 'node:os'
import { after, describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { serve, type ServeOptions } from '../../src/index.ts'
import { assertNoOpenHandles, exchange, RawClient } from '../helpers/raw-client.ts'

after(assertNoOpenHandles)

const handlerModule = new URL('./fixtures/handler.ts', import.meta.url)
const GET = (path: string) => `GET ${path} HTTP/1.1\r\nHost: a\r\n\r\n`
// serve() runs no more worker threads than this process may use cores, and serves on one event loop when
// that is one (pinned with taskset -c 0, say): the tests of worker threads then have none to test. (The one
// that kills its worker on purpose would end this process instead.)
const oneCore = availableParallelism() < 2 && `this process may use ${availableParallelism()} core: serve() starts no worker threads`

describe('serve({ workers })', () => {
  test('a handler module may export an app: a Hono app, or an object with routes and fetch', async () => {
    const hono = await serve({ port: 0, workers: 2, handlerModule: new URL('./fixtures/hono-app.ts', import.meta.url), log: () => {} })
    try {
      const { replies, client } = await exchange(hono.port, GET('/'))
      client.close()
      assert.match(replies[0]!.body.toString(), /^hono on thread \d+$/)
    } finally {
      await hono.close()
    }
    const app = await serve({ port: 0, workers: 2, handlerModule: new URL('./fixtures/app-object.ts', import.meta.url), log: () => {} })
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
    await assert.rejects(serve({ port: 0, workers: 2, handler: () => {} } as unknown as ServeOptions), /a function cannot cross threads; give handlerModule/)
    await assert.rejects(serve({ port: 0, workers: 0, handlerModule }), /Invalid option workers: expected 'auto' or an integer/)
  })
})
