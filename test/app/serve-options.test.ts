/*
 * serve() reads a fixed set of options and refuses any other with a TypeError naming it, before listening:
 * a misplaced limit at the top level (`idleTimeoutMs` instead of `limits: { idleTimeoutMs }`) or another
 * server's spelling (`hostname`) would otherwise be ignored without a word.
 */
import assert from 'node:assert/strict'
import { after, test } from 'node:test'
import { serve } from '../../src/index.ts'
import { assertNoOpenHandles, exchange } from '../helpers/raw-client.ts'

after(() => assertNoOpenHandles())

test('serve() takes every option it documents, and an option left undefined', async () => {
  const server = await serve({
    host: '127.0.0.1', port: 0, limits: { idleTimeoutMs: 1000 }, onError: () => {}, log: () => {}, backend: undefined,
    routes: { '/r': new Response('route') }, fetch: () => new Response('fetch'), lightResponse: false, websocket: { message() {} },
    reusePort: false, workers: undefined, handlerModule: undefined, ...({ spare: undefined } as object),
  })
  try {
    const { client, replies } = await exchange(server.port, 'GET /r HTTP/1.1\r\nHost: x\r\n\r\nGET /other HTTP/1.1\r\nHost: x\r\n\r\n', 2)
    client.close()
    assert.deepEqual(replies.map((reply) => reply.body.toString()), ['route', 'fetch'])
  } finally {
    await server.close()
  }
})

test('serve() refuses an option it does not read, naming it and what to pass instead', async () => {
  const handler = () => {}
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ idleTimeoutMs: 300 }, /^Unknown option idleTimeoutMs: idleTimeoutMs is a limit: pass limits: \{ idleTimeoutMs: 300 \}$/],
    [{ sendTimeoutMs: 2000, workers: 2, handlerModule: 'x.ts' }, /^Unknown option sendTimeoutMs: .*limits: \{ sendTimeoutMs: 2000 \}/],
    [{ hostname: '127.0.0.1' }, /^Unknown option hostname: pass host/],
    [{ maxRequestBodySize: 10 }, /limits: \{ bodyBytesMax \}/],
    [{ tls: {} }, /plain HTTP; terminate TLS in front/],
    [{ prot: 5001 }, /^Unknown option prot: expected one of host, port, .*handlerModule$/],
    [{ toString: 1 }, /^Unknown option toString: expected one of/],
  ]
  for (const [extra, message] of cases) {
    await assert.rejects(serve({ port: 0, handler, ...extra } as never), (error: unknown) => error instanceof TypeError && message.test(error.message), JSON.stringify(extra))
  }
  await assert.rejects(serve(null as never), /^TypeError: Invalid options: expected an object, got null$/)
})
