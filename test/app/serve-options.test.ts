/*
 * serve() reads a fixed set of options and refuses any other with a TypeError naming it, before listening:
 * a misplaced limit at the top level (`idleTimeoutMs` instead of `limits: { idleTimeoutMs }`) or another
 * server's spelling (`hostname`) would otherwise be ignored without a word.
 */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { BroadcastChannel } from 'node:worker_threads'
import WebSocket from 'ws'
import { serve, type OneLoopServeOptions, type Server, type WorkersServeOptions } from '../../src/index.ts'
import { optionNames } from '../../src/serve/serve.ts'
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

/*
 * Every option serve() reads means the same with and without `workers`, or is refused with `workers` saying
 * why and what to give instead. The table has one row per option (the compiler checks that every option of
 * both modes has one); each row gives the option on one loop and with workers, then checks what it does on
 * the running server, or that `workers` refuses it.
 */
const appModule = new URL('../thread/fixtures/options-app.ts', import.meta.url)
const app = (await import(appModule.href)).default as typeof import('../thread/fixtures/options-app.ts').default
const backend = (process.env.WIRESPEED_BACKEND ?? undefined) as 'node' | 'epoll' | undefined
const staticRoot = mkdtempSync(join(tmpdir(), 'wirespeed-options-'))
writeFileSync(join(staticRoot, 'a.txt'), 'a file')
after(() => rmSync(staticRoot, { recursive: true, force: true }))

/** What `workers: 2` gets here: on one core (`taskset -c 0`), one loop, which must mean the same too. */
const threads = Math.min(2, availableParallelism())

type Mode = 'one loop' | 'workers'
interface Running { server: Server; mode: Mode; lines: string[]; seen: string[] }
interface OptionCase {
  /** The option's value on one loop and with workers (omitted: not given in that mode). */
  oneLoop?: unknown
  workers?: unknown
  /** With workers, refused: the message says why and what to give instead. */
  refusedWithWorkers?: RegExp
  /** What the option does, checked on the running server of each mode it was given in. */
  check(running: Running): Promise<void>
}
const get = async (port: number, path: string, fields = '') => {
  const { client, replies } = await exchange(port, `GET ${path} HTTP/1.1\r\nHost: x\r\n${fields}\r\n`)
  client.close()
  return replies[0]!
}
const answers = async ({ server }: Running) => assert.equal((await get(server.port, '/')).body.toString(), 'fetch')
/** Waits until `condition` holds, checking every 10 ms, for at most 10 s (an event from another thread). */
const until = async (condition: () => boolean, what: string) => {
  for (let i = 0; i < 1000 && !condition(); i++) await sleep(10)
  assert.ok(condition(), what)
}

const optionCases = {
  host: { oneLoop: '127.0.0.1', workers: '127.0.0.1', check: async (running) => {
    assert.equal(running.server.host, '127.0.0.1')
    await answers(running)
  } },
  port: { oneLoop: 0, workers: 0, check: async ({ server }) => assert.ok(server.port > 0, `port ${server.port}`) },
  limits: { oneLoop: { headerCountMax: 8 }, workers: { headerCountMax: 8 }, check: async ({ server }) => {
    // Host and 7 more fields is N; one more is N+1.
    const fields = (count: number) => Array.from({ length: count }, (_, i) => `f${i}: ${i}\r\n`).join('')
    assert.equal(server.limits.headerCountMax, 8)
    assert.equal((await get(server.port, '/', fields(7))).status, 200)
    assert.equal((await get(server.port, '/', fields(8))).status, 431)
  } },
  onError: { oneLoop: app.onError, workers: app.onError, refusedWithWorkers: /^Invalid option onError with workers: a function cannot cross to a worker thread; export it from handlerModule/,
    check: async ({ server, seen }) => {
      assert.equal((await get(server.port, '/boom')).status, 500)
      await until(() => seen.includes('onError: boom from the handler'), `onError was not called (saw ${seen.join(', ')})`)
    } },
  log: { oneLoop: (line: string) => { throw new Error(`one loop logs nothing: ${line}`) }, workers: 'collect', check: async ({ mode, lines }) => {
    if (mode === 'workers') assert.match(lines.join('\n'), threads === 2 ? /serving with 2 worker threads/ : /serving on one event loop/)
  } },
  backend: { oneLoop: backend, workers: backend, check: async ({ server }) => {
    if (backend !== undefined) assert.equal(server.backend, backend)
  } },
  workers: { workers: 2, check: async ({ server, mode }) => assert.equal(server.workers, mode === 'workers' ? threads : 1) },
  routes: { oneLoop: app.routes, workers: app.routes, refusedWithWorkers: /^Invalid option routes with workers: .*cannot cross to a worker thread; export .* from handlerModule/,
    check: async ({ server }) => assert.equal((await get(server.port, '/r')).body.toString(), 'route') },
  handler: { workers: () => {}, refusedWithWorkers: /^Invalid option handler with workers: a function cannot cross to a worker thread; export it from handlerModule/,
    check: async ({ mode }) => {
      if (mode === 'workers') return
      // One loop: a handler in place of the fetch of the shared server.
      const server = await serve({ port: 0, handler: (request, response) => response.send('handler') })
      try {
        assert.equal((await get(server.port, '/')).body.toString(), 'handler')
      } finally {
        await server.close()
      }
    } },
  fetch: { oneLoop: app.fetch, workers: app.fetch, refusedWithWorkers: /^Invalid option fetch with workers: a function cannot cross to a worker thread; export it from handlerModule \(export default \{ fetch \}\)/,
    check: answers },
  lightResponse: { oneLoop: false, workers: false, check: async ({ server }) => assert.equal((await get(server.port, '/light')).body.toString(), 'node') },
  static: { oneLoop: { root: staticRoot, cacheControl: 'max-age=60', debounceMs: 5 }, workers: { root: staticRoot, cacheControl: 'max-age=60', debounceMs: 5 },
    check: async ({ server }) => {
      const reply = await get(server.port, '/a.txt')
      assert.equal(reply.body.toString(), 'a file')
      assert.equal(reply.headers.get('cache-control'), 'max-age=60')
    } },
  websocket: { oneLoop: app.websocket, workers: app.websocket, refusedWithWorkers: /^Invalid option websocket with workers: .*cannot cross to a worker thread; export .* from handlerModule/,
    check: async ({ server }) => {
      const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws`)
      const messages: string[] = []
      ws.on('message', (data) => messages.push(String(data)))
      await once(ws, 'open')
      await until(() => messages.includes('subscribed'), 'the socket was not subscribed')
      await until(() => server.subscriberCount('room') === 1, `subscriberCount('room') is ${server.subscriberCount('room')}, not 1`)
      assert.equal(server.publish('room', 'to the room'), 1)
      await until(() => messages.includes('to the room'), 'the publish did not arrive')
      ws.close()
      await once(ws, 'close')
      await until(() => server.subscriberCount('room') === 0, 'the closed socket is still counted')
    } },
  reusePort: { oneLoop: false, workers: false, refusedWithWorkers: /^Invalid option reusePort: false with workers: every worker listens with reusePort/, check: answers },
  handlerModule: { workers: appModule, check: async ({ mode }) => {
    if (mode === 'workers') return
    // One loop: the module is imported on this thread.
    const server = await serve({ port: 0, handlerModule: appModule })
    try {
      assert.equal((await get(server.port, '/r')).body.toString(), 'route')
      assert.equal((await get(server.port, '/')).body.toString(), 'fetch')
    } finally {
      await server.close()
    }
  } },
} satisfies Record<keyof OneLoopServeOptions | keyof WorkersServeOptions, OptionCase>
const cases = optionCases as Record<string, OptionCase>

test('serve() has a row in the options table for every option it reads', () => {
  assert.deepEqual(Object.keys(cases).sort(), Object.keys(optionNames).sort())
})

test('serve() refuses with workers each option that cannot cross to a worker thread, saying what to give instead', async () => {
  for (const [name, { workers, refusedWithWorkers }] of Object.entries(cases)) {
    if (refusedWithWorkers === undefined) continue
    await assert.rejects(serve({ port: 0, workers: 2, handlerModule: appModule, log: () => {}, [name]: workers } as never),
      (error: unknown) => error instanceof TypeError && refusedWithWorkers.test(error.message), name)
  }
})

for (const mode of ['one loop', 'workers'] as const) {
  test(`serve() options mean the same with ${mode}`, async () => {
    const lines: string[] = []
    const seen: string[] = []
    const channel = new BroadcastChannel('wirespeed-test-options')
    channel.onmessage = (event) => seen.push(String((event as MessageEvent).data))
    const options: Record<string, unknown> = {}
    for (const [name, each] of Object.entries(cases)) {
      const value = mode === 'workers' ? (each.refusedWithWorkers === undefined ? each.workers : undefined) : each.oneLoop
      if (value !== undefined) options[name] = value === 'collect' ? (line: string) => lines.push(line) : value
    }
    const server = await serve(options as never)
    try {
      for (const [name, each] of Object.entries(cases)) await t(name, () => each.check({ server, mode, lines, seen }))
    } finally {
      await server.close()
      channel.close()
    }
  })
}

/** Runs one row's check, naming the option in its failure. */
async function t(name: string, check: () => Promise<void>): Promise<void> {
  try {
    await check()
  } catch (error) {
    throw new Error(`option ${name}: ${(error as Error).message}`, { cause: error })
  }
}

test('serve() says where fetch goes with workers, rather than that nothing answers', async () => {
  await assert.rejects(serve({ port: 0, workers: 2, fetch: () => new Response('x') } as never), /^TypeError: Invalid option fetch with workers: a function cannot cross to a worker thread; export it from handlerModule/)
  await assert.rejects(serve({ port: 0, workers: 2, log: () => {} }), /^TypeError: Missing option handlerModule with workers: expected a module whose default export answers requests \(or static\)$/)
})

test('serve() refuses an unknown key inside static, websocket and limits, naming it, with and without workers', async () => {
  const staticNames = /expected one of root, fileBytesMax, cacheBytesMax, dotfiles, cacheControl, watch, debounceMs, mimeTypes, compress, compressBytesMin, compressStreamsMax, spa, cleanUrls, trailingSlash, notFound, directoryListing, listingEntriesMax, cors, headers, hashedCacheControl, rewrites, redirects, unlisted$/
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ static: { root: staticRoot, gzip: true } }, /^Unknown option static\.gzip: /],
    [{ static: { root: staticRoot, cachecontrl: 'max-age=60' } }, /^Unknown option static\.cachecontrl: /],
    [{ fetch: app.fetch, websocket: { message() {}, mesage() {} } }, /^Unknown option websocket\.mesage: expected one of open, message, close, drain, ping, pong, perMessageDeflate, protocols, origin, sendPings, messageBytesMax/],
  ]
  for (const [options, message] of cases) {
    const test = (error: unknown) => error instanceof TypeError && message.test(error.message) && (!('static' in options) || staticNames.test(error.message))
    await assert.rejects(serve({ port: 0, ...options } as never), test, JSON.stringify(options))
    if (!('static' in options)) continue
    await assert.rejects(serve({ port: 0, workers: 2, handlerModule: appModule, log: () => {}, ...options } as never), test, `workers: ${JSON.stringify(options)}`)
  }
  await assert.rejects(serve({ port: 0, fetch: app.fetch, limits: { headerCountMaxx: 5 } } as never), /^RangeError: Unknown limit headerCountMaxx: expected one of/)
  await assert.rejects(serve({ port: 0, workers: 2, handlerModule: appModule, log: () => {}, limits: { headerCountMaxx: 5 } } as never), /^RangeError: Unknown limit headerCountMaxx: expected one of/)
})
