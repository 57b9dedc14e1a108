import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { serve } from '../../src/index.ts'
import { assertNoOpenHandles, RawClient } from '../helpers/raw-client.ts'

after(assertNoOpenHandles)

const GET = 'GET / HTTP/1.1\r\nHost: a\r\n\r\n'

describe('graceful close', () => {
  test('finishes a reply in flight, closes idle connections at once, and stops accepting', async () => {
    let started!: () => void
    const inFlight = new Promise<void>((resolve) => (started = resolve))
    // An idle timeout far longer than any wait here: only close() can close the idle connection.
    const server = await serve({
      port: 0,
      limits: { idleTimeoutMs: 120_000 },
      handler: async (request, response) => {
        if (request.url === '/slow') {
          started()
          await sleep(200)
        }
        response.send(request.url)
      },
    })
    const idle = await RawClient.open(server.port)
    idle.send(GET)
    await idle.replies(1)
    const busy = await RawClient.open(server.port)
    busy.send('GET /slow HTTP/1.1\r\nHost: a\r\n\r\n')
    await inFlight
    const closed = server.close()
    await idle.waitForClose()
    await assert.rejects(RawClient.open(server.port), /ECONNREFUSED/)
    const [reply] = await busy.replies(1)
    assert.equal(reply!.body.toString(), '/slow')
    assert.equal(reply!.headers.get('connection'), 'close')
    await busy.waitForClose()
    await closed
  })

  test('destroys what is left after shutdownTimeoutMs', async () => {
    let called!: () => void
    const inHandler = new Promise<void>((resolve) => (called = resolve))
    const server = await serve({ port: 0, limits: { shutdownTimeoutMs: 100 }, handler: () => called() })
    const stuck = await RawClient.open(server.port)
    stuck.send(GET)
    await inHandler
    await server.close()
    await stuck.waitForClose()
    assert.equal(stuck.received.length, 0)
  })

  test('a streamed download in flight finishes before close resolves', async () => {
    const server = await serve({
      port: 0,
      handler: async (_request, response) => {
        for (let i = 0; i < 10; i++) {
          response.write(`${i};`)
          await sleep(10)
        }
        response.end()
      },
    })
    const client = await RawClient.open(server.port)
    client.send(GET)
    await client.waitFor(() => client.received.length > 0)
    await server.close()
    const [reply] = await client.replies(1)
    assert.equal(reply!.body.toString(), '0;1;2;3;4;5;6;7;8;9;')
    client.close()
  })
})
