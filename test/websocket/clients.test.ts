/*
 * Real clients against the WebSocket server: the `ws` package's client (with and without compression), and
 * headless Chromium (Debian's `chromium`, installed by test/setup-browser.sh where apt is available), whose
 * page opens a WebSocket with permessage-deflate, exchanges text and binary messages, and posts its result
 * back to the server. Without Chromium the browser test is skipped with a message that says why.
 */
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { rmSync } from 'node:fs'
import { after, test } from 'node:test'
import WebSocket from 'ws'
import { serve, type ServerWebSocket } from '../../src/index.ts'
import { assertNoOpenHandles } from '../helpers/raw-client.ts'

after(assertNoOpenHandles)

function opened(client: WebSocket): Promise<void> {
  return new Promise((resolve, reject) => client.once('open', resolve).once('error', reject))
}

function nextMessage(client: WebSocket): Promise<{ data: Buffer; binary: boolean }> {
  return new Promise((resolve, reject) => {
    client.once('message', (data, binary) => resolve({ data: data as Buffer, binary }))
    client.once('error', reject)
  })
}

for (const perMessageDeflate of [false, true]) {
  test(`the ws client exchanges text, binary, large and many messages, pings, and closes (compression ${perMessageDeflate ? 'on' : 'off'})`, async () => {
    const closes: [number, string][] = []
    const server = await serve({
      port: 0,
      fetch: (request, server) => (server.upgrade(request) ? undefined : new Response('no', { status: 426 })),
      websocket: { perMessageDeflate: true, message: (ws, message) => void ws.send(message), close: (_ws, code, reason) => void closes.push([code, reason]) },
    })
    const client = new WebSocket(`ws://127.0.0.1:${server.port}/`, { perMessageDeflate })
    try {
      await opened(client)
      assert.equal(client.extensions.includes('permessage-deflate'), perMessageDeflate)
      client.send('hello, wörld')
      assert.deepEqual(await nextMessage(client).then(({ data, binary }) => [data.toString(), binary]), ['hello, wörld', false])
      client.send(Buffer.from([0, 1, 2, 255]))
      assert.deepEqual(await nextMessage(client).then(({ data, binary }) => [[...data], binary]), [[0, 1, 2, 255], true])
      const large = Buffer.alloc(3 << 20, 'abc')
      client.send(large)
      assert.ok((await nextMessage(client)).data.equals(large))
      const received: string[] = []
      const all = new Promise<void>((resolve) => client.on('message', (data) => received.push(String(data)) === 1000 && resolve()))
      for (let index = 0; index < 1000; index++) client.send(`message ${index}`)
      await all
      assert.deepEqual(received, Array.from({ length: 1000 }, (_, index) => `message ${index}`))
      const pong = new Promise<Buffer>((resolve) => client.once('pong', resolve))
      client.ping('are you there')
      assert.equal(String(await pong), 'are you there')
      const closed = new Promise<[number, string]>((resolve) => client.once('close', (code, reason) => resolve([code, String(reason)])))
      client.close(4001, 'done here')
      assert.deepEqual(await closed, [4001, ''])
    } finally {
      client.terminate()
      await server.close()
    }
    assert.deepEqual(closes, [[4001, 'done here']])
  })
}

test('the ws client sees the server close with a code and reason, and publish fan-out reaches 50 clients', async () => {
  const server = await serve({
    port: 0,
    fetch: (request, server) => (server.upgrade(request) ? undefined : new Response('no', { status: 426 })),
    websocket: { perMessageDeflate: true, open: (ws) => ws.subscribe('room'), message: (ws, message) => (message === 'bye' ? ws.close(4002, 'asked to leave') : undefined) },
  })
  const clients = Array.from({ length: 50 }, (_, index) => new WebSocket(`ws://127.0.0.1:${server.port}/`, { perMessageDeflate: index % 2 === 0 }))
  try {
    await Promise.all(clients.map(opened))
    // (A client may see its 101 before the server's open handler has subscribed it: wait for all 50.)
    for (let i = 0; i < 3000 && server.subscriberCount('room') < 50; i++) await new Promise((resolve) => setTimeout(resolve, 10))
    const messages = clients.map(nextMessage)
    assert.equal(server.publish('room', 'x'.repeat(500)), 50)
    for (const message of await Promise.all(messages)) assert.equal(message.data.toString(), 'x'.repeat(500))
    const closed = new Promise<[number, string]>((resolve) => clients[0]!.once('close', (code, reason) => resolve([code, String(reason)])))
    clients[0]!.send('bye')
    assert.deepEqual(await closed, [4002, 'asked to leave'])
  } finally {
    for (const client of clients) client.terminate()
    await server.close()
  }
})

const PAGE = `<!doctype html><meta charset="utf-8"><title>wirespeed websocket</title><script>
const report = (result) => fetch('/result', { method: 'POST', body: JSON.stringify(result) })
const ws = new WebSocket('ws://' + location.host + '/ws')
ws.binaryType = 'arraybuffer'
const results = []
ws.onopen = () => {
  ws.send('hello from the browser ✓')
  ws.send(new Uint8Array([1, 2, 3, 250]))
  ws.send('long '.repeat(2000))
}
ws.onmessage = (event) => {
  results.push(typeof event.data === 'string' ? ['text', event.data.length, event.data.slice(0, 30)] : ['binary', [...new Uint8Array(event.data)]])
  if (results.length === 4) { ws.close(1000, 'finished'); report({ extensions: ws.extensions, results }) }
}
ws.onerror = () => report({ error: 'websocket error' })
</script>`

function findChromium(): string | undefined {
  for (const name of ['chromium', 'chromium-browser', 'google-chrome']) {
    const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' })
    if (found.status === 0 && found.stdout.trim() !== '') return found.stdout.trim()
  }
  return undefined
}

const chromium = findChromium()
test('headless Chromium opens a WebSocket with compression, exchanges text and binary messages, and closes', { skip: chromium === undefined ? 'Chromium is not installed (test/setup-browser.sh installs Debian\'s chromium where apt is available)' : false }, async () => {
  let resolveResult: (result: unknown) => void = () => {}
  const result = new Promise<unknown>((resolve) => (resolveResult = resolve))
  const sockets: ServerWebSocket[] = []
  const closes: [number, string][] = []
  const server = await serve({
    port: 0,
    routes: {
      '/': new Response(PAGE, { headers: { 'Content-Type': 'text/html; charset=utf-8' } }),
      'POST /result': async (request, response) => {
        resolveResult(await request.json())
        response.send('ok')
      },
      'GET /ws': (_request, response) => void response.upgrade({ data: 'browser' }),
    },
    websocket: {
      perMessageDeflate: true,
      open: (ws) => void sockets.push(ws),
      message(ws, message) {
        ws.send(message)
        if (typeof message === 'string' && message.startsWith('long')) ws.send(Buffer.from([9, 8, 7]))
      },
      close: (_ws, code, reason) => void closes.push([code, reason]),
    },
  })
  const profile = `/tmp/wirespeed-chromium-${process.pid}`
  const browser = spawn(chromium!, ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', `--user-data-dir=${profile}`, server.url], { stdio: 'ignore', detached: true })
  try {
    const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error('Chromium did not report within 60 s')), 60_000).unref())
    const reported = (await Promise.race([result, timeout])) as { extensions: string; results: unknown[] }
    assert.match(reported.extensions, /permessage-deflate/)
    assert.deepEqual(reported.results, [
      ['text', 24, 'hello from the browser ✓'],
      ['binary', [1, 2, 3, 250]],
      ['text', 10000, 'long long long long long long '],
      ['binary', [9, 8, 7]],
    ])
    assert.match(sockets[0]!.extensions, /permessage-deflate/)
    const deadline = Date.now() + 30_000
    while (closes.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10))
    assert.deepEqual(closes, [[1000, 'finished']])
  } finally {
    // Chromium's helpers share its process group: stop the group this test started.
    try {
      process.kill(-browser.pid!, 'SIGKILL')
    } catch {}
    await server.close()
    rmSync(profile, { recursive: true, force: true })
  }
})
