/*
 * The opening handshake (RFC 6455 §4.2) over a real socket: the accept key, refusals (405, 400, 426 with
 * Sec-WebSocket-Version, 403 from the origin check), subprotocols, extra headers, and the three ways in:
 * server.upgrade() in fetch mode (also after an await), response.upgrade() in routes and handlers.
 */
import assert from 'node:assert/strict'
import { after, test } from 'node:test'
import { serve, type OneLoopServeOptions, type Server } from '../../src/index.ts'
import { acceptKey } from '../../src/websocket/handshake.ts'
import { assertNoOpenHandles, exchange } from '../helpers/raw-client.ts'
import { clientFrame, upgradeRequest, WsClient } from '../helpers/ws-client.ts'

after(assertNoOpenHandles)

async function withServer<R>(options: OneLoopServeOptions<R>, body: (server: Server) => Promise<void>): Promise<void> {
  const server = await serve({ port: 0, ...options })
  try {
    await body(server)
  } finally {
    await server.close()
  }
}

const echo = { message: (ws: { send(data: string | Buffer): number }, message: string | Buffer) => void ws.send(message) }
const upgradeAll: OneLoopServeOptions = {
  handler(_request, response) {
    if (!response.upgrade()) response.status(426).send('WebSocket only\n')
  },
  websocket: echo,
}

test('acceptKey() gives RFC 6455 §1.3 sample answer', () => {
  assert.equal(acceptKey('dGhlIHNhbXBsZSBub25jZQ=='), 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=')
})

test('a good upgrade gets 101 with Upgrade, Connection and Sec-WebSocket-Accept, and no extension unasked', async () => {
  await withServer(upgradeAll, async (server) => {
    const client = await WsClient.open(server.port)
    assert.equal(client.status, 101)
    assert.equal(client.headers.get('upgrade'), 'websocket')
    assert.equal(client.headers.get('connection'), 'Upgrade')
    assert.equal(client.headers.get('sec-websocket-accept'), 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=')
    assert.equal(client.headers.has('sec-websocket-extensions'), false)
    assert.equal(client.headers.has('sec-websocket-protocol'), false)
    client.send(clientFrame(1, 'hi'))
    assert.equal((await client.frame()).payload.toString(), 'hi')
    client.close()
  })
})

test('header names and tokens are case-insensitive (UPGRADE: WebSocket, Connection: keep-alive, Upgrade)', async () => {
  await withServer(upgradeAll, async (server) => {
    const client = await WsClient.open(server.port, upgradeRequest('/', { Upgrade: 'WebSocket', Connection: 'keep-alive, Upgrade' }))
    assert.equal(client.status, 101)
    client.close()
  })
})

const refusals: [string, string, number, string | undefined][] = [
  ['POST', upgradeRequest('/', { 'Content-Length': '0' }, 'POST / HTTP/1.1'), 405, 'allow'],
  ['HTTP/1.0', upgradeRequest('/', {}, 'GET / HTTP/1.0'), 400, undefined],
  ['version 8', upgradeRequest('/', { 'Sec-WebSocket-Version': '8' }), 426, 'sec-websocket-version'],
  ['no version', upgradeRequest('/', { 'Sec-WebSocket-Version': undefined }), 426, 'sec-websocket-version'],
  ['no key', upgradeRequest('/', { 'Sec-WebSocket-Key': undefined }), 400, undefined],
  ['a key of 15 bytes', upgradeRequest('/', { 'Sec-WebSocket-Key': 'AAAAAAAAAAAAAAAAAAAA' }), 400, undefined],
  ['two keys', upgradeRequest('/', {}).replace('\r\n\r\n', `\r\nSec-WebSocket-Key: ${'x'.repeat(22)}==\r\n\r\n`), 400, undefined],
  ['a body', upgradeRequest('/', { 'Content-Length': '2' }) + 'hi', 400, undefined],
]
for (const [name, request, status, header] of refusals) {
  test(`an upgrade with ${name} is refused with ${status}${header ? ` and ${header}` : ''}`, async () => {
    await withServer(upgradeAll, async (server) => {
      const { replies, client } = await exchange(server.port, request)
      client.close()
      assert.equal(replies[0]!.status, status)
      if (header === 'sec-websocket-version') assert.equal(replies[0]!.headers.get(header), '13')
      if (header === 'allow') assert.equal(replies[0]!.headers.get(header), 'GET')
    })
  })
}

test('a request that does not ask for a WebSocket gets false from upgrade(), and the handler answers it', async () => {
  await withServer(upgradeAll, async (server) => {
    const reply = await fetch(server.url)
    assert.deepEqual([reply.status, await reply.text()], [426, 'WebSocket only\n'])
    // Connection: upgrade to another protocol: not ours either, and the connection goes on as HTTP.
    const { replies, client } = await exchange(server.port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\nUpgrade: h2c\r\n\r\nGET /again HTTP/1.1\r\nHost: x\r\n\r\n', 2)
    client.close()
    assert.deepEqual(replies.map((each) => each.status), [426, 426])
  })
})

test('the origin check refuses with 403 and admits what it allows', async () => {
  await withServer({ ...upgradeAll, websocket: { ...echo, origin: (origin) => origin === 'https://good.example' } }, async (server) => {
    const bad = await exchange(server.port, upgradeRequest('/', { Origin: 'https://evil.example' }))
    bad.client.close()
    assert.equal(bad.replies[0]!.status, 403)
    const good = await WsClient.open(server.port, upgradeRequest('/', { Origin: 'https://good.example' }))
    assert.equal(good.status, 101)
    good.close()
  })
})

test('subprotocols: the first the client lists that the server speaks is chosen; none when none match', async () => {
  await withServer({ ...upgradeAll, websocket: { ...echo, protocols: ['chat.v2', 'chat.v1'] } }, async (server) => {
    const client = await WsClient.open(server.port, upgradeRequest('/', { 'Sec-WebSocket-Protocol': 'chat.v1, chat.v2' }))
    assert.equal(client.headers.get('sec-websocket-protocol'), 'chat.v1')
    client.close()
    const other = await WsClient.open(server.port, upgradeRequest('/', { 'Sec-WebSocket-Protocol': 'mqtt' }))
    assert.equal(other.status, 101)
    assert.equal(other.headers.has('sec-websocket-protocol'), false)
    other.close()
  })
  await withServer({ ...upgradeAll, websocket: { ...echo, protocols: (offered) => offered.at(-1) } }, async (server) => {
    const client = await WsClient.open(server.port, upgradeRequest('/', { 'Sec-WebSocket-Protocol': 'a, b, c' }))
    assert.equal(client.headers.get('sec-websocket-protocol'), 'c')
    client.close()
  })
})

test('fetch mode: server.upgrade() with data and headers, also after an await; ws.data and remoteAddress', async () => {
  const seen: unknown[] = []
  await withServer({
    async fetch(request, server) {
      if (new URL(request.url).pathname === '/later') await new Promise((resolve) => setTimeout(resolve, 20))
      if (server.upgrade(request, { data: { user: 'ann' }, headers: { 'X-Hello': 'there' } })) return undefined
      return new Response('Upgrade required', { status: 426 })
    },
    websocket: {
      open(ws) {
        seen.push(ws.data, ws.remoteAddress, ws.readyState)
      },
      message(ws, message) {
        ws.send(`${(ws.data as { user: string }).user}: ${String(message)}`)
      },
    },
  }, async (server) => {
    for (const path of ['/', '/later']) {
      const client = await WsClient.open(server.port, Buffer.concat([Buffer.from(upgradeRequest(path)), clientFrame(1, 'early')]))
      assert.equal(client.status, 101)
      assert.equal(client.headers.get('x-hello'), 'there')
      assert.equal((await client.frame()).payload.toString(), 'ann: early')
      client.close()
    }
    const plain = await fetch(server.url)
    assert.equal(plain.status, 426)
    await plain.text()
  })
  assert.deepEqual(seen, [{ user: 'ann' }, '127.0.0.1', 1, { user: 'ann' }, '127.0.0.1', 1])
})

test('routes: response.upgrade() in a route, with the route params in ws.data', async () => {
  await withServer({
    routes: {
      'GET /rooms/:room': (request, response) => {
        if (!response.upgrade({ data: { room: request.params.room } })) response.status(426).send('WebSocket only')
      },
    },
    websocket: { message: (ws, message) => void ws.send(`${(ws.data as { room: string }).room}:${String(message)}`) },
  }, async (server) => {
    const client = await WsClient.open(server.port, upgradeRequest('/rooms/lobby'))
    client.send(clientFrame(1, 'hi'))
    assert.equal((await client.frame()).payload.toString(), 'lobby:hi')
    client.close()
  })
})

test('upgrade() without websocket handlers throws a TypeError that says so (answered 500)', async () => {
  const errors: unknown[] = []
  await withServer({ handler: (_request, response) => void response.upgrade(), onError: (error) => errors.push(error) }, async (server) => {
    const { replies, client } = await exchange(server.port, upgradeRequest())
    client.close()
    assert.equal(replies[0]!.status, 500)
  })
  assert.match(String(errors[0]), /no websocket handlers/)
})

test('a bad websocket option is refused at start', async () => {
  await assert.rejects(serve({ port: 0, handler() {}, websocket: {} as never }), /expected an object with a message/)
  await assert.rejects(serve({ port: 0, handler() {}, websocket: { message() {}, messageBytesMax: 12 } }), /Invalid option websocket.messageBytesMax: expected an integer from 125/)
  await assert.rejects(serve({ port: 0, handler() {}, websocket: { message() {}, protocols: [1] as never } }), /websocket.protocols/)
})
