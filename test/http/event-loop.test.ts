/*
 * Serving never blocks Node's event loop, on any backend: while a load of pipelined requests keeps the
 * server busy, handlers that wait on a timer, the file system, DNS and another HTTP server (through
 * Node's own sockets) are all answered. No timing is asserted beyond the bounded waits themselves.
 */
import assert from 'node:assert/strict'
import { lookup } from 'node:dns/promises'
import { readFile } from 'node:fs/promises'
import { after, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Handler } from '../../src/index.ts'
import { assertNoOpenHandles, RawClient, WAIT_MS, withServer } from '../helpers/raw-client.ts'

after(assertNoOpenHandles)

test('timers, fs, DNS and other sockets keep working in handlers while the server is under load', async () => {
  await withServer({ handler: (_request, response) => response.send('other server') }, async (other) => {
    const handler: Handler = async (request, response) => {
      switch (request.path) {
        case '/timer':
          await sleep(1)
          return response.send('timer')
        case '/fs':
          return response.send((await readFile(new URL('../../package.json', import.meta.url), 'utf8')).includes('"name"') ? 'fs' : 'no')
        case '/dns':
          return response.send((await lookup('localhost')).address.length > 0 ? 'dns' : 'no')
        case '/fetch':
          return response.send(await (await fetch(other.url)).text())
        default:
          return response.send('load')
      }
    }
    await withServer({ handler }, async (server) => {
      // The load: four connections, each sending 400 pipelined requests in batches as fast as answers come.
      let stop = false
      const load = Array.from({ length: 4 }, async () => {
        const client = await RawClient.open(server.port)
        let answered = 0
        while (!stop && answered < 20_000) {
          const before = client.received.length
          client.send('GET / HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(50))
          await client.waitFor(() => client.received.length >= before + 50 * 80 || client.closed, WAIT_MS, 'load replies')
          answered += 50
        }
        client.close()
        return answered
      })
      const answers: string[] = []
      for (const path of ['/timer', '/fs', '/dns', '/fetch', '/timer', '/fetch']) {
        const reply = await fetch(`${server.url}${path}`)
        assert.equal(reply.status, 200)
        answers.push(await reply.text())
      }
      stop = true
      const served = await Promise.all(load)
      assert.deepEqual(answers, ['timer', 'fs', 'dns', 'other server', 'timer', 'other server'])
      assert.ok(served.every((count) => count > 0), 'the load was served meanwhile')
    })
  })
})
