/*
 * permessage-deflate (RFC 7692) over a real socket: Autobahn's sections 12 and 13 (compressed messages of
 * many sizes, fragmented, with each negotiation parameter), plus the limits a compressed message must meet
 * (a decompression bomb stopped at messageBytesMax) and the RSV1 rules of §6.1.
 */
import assert from 'node:assert/strict'
import zlib from 'node:zlib'
import { after, test } from 'node:test'
import { serve, type Server, type WebSocketHandler } from '../../src/index.ts'
import { assertNoOpenHandles } from '../helpers/raw-client.ts'
import { clientFrame, deflate, inflate, upgradeRequest, WsClient } from '../helpers/ws-client.ts'

after(assertNoOpenHandles)

const TEXT = 1
const BINARY = 2

async function withEcho(body: (server: Server) => Promise<void>, extra: Partial<WebSocketHandler> = {}, perMessageDeflate = true): Promise<void> {
  const server = await serve({
    port: 0,
    handler: (_request, response) => void response.upgrade(),
    websocket: { perMessageDeflate, message: (ws, message) => void ws.send(message), ...extra },
    onError: () => {},
  })
  try {
    await body(server)
  } finally {
    await server.close()
  }
}

async function openWith(server: Server, extensions: string | undefined): Promise<WsClient> {
  const client = await WsClient.open(server.port, upgradeRequest('/', { 'Sec-WebSocket-Extensions': extensions }))
  assert.equal(client.status, 101)
  return client
}

const AGREED = 'permessage-deflate; server_no_context_takeover; client_no_context_takeover'

test('13.x negotiation: each acceptable offer is answered with no context takeover both ways', async () => {
  await withEcho(async (server) => {
    for (const [offer, answer] of [
      ['permessage-deflate', AGREED],
      ['permessage-deflate; client_max_window_bits', AGREED],
      ['permessage-deflate; client_no_context_takeover; server_no_context_takeover', AGREED],
      ['permessage-deflate; server_max_window_bits=10', `${AGREED}; server_max_window_bits=10`],
      ['permessage-deflate; server_max_window_bits="12"', `${AGREED}; server_max_window_bits=12`],
      // Declined offers fall through to the next one (RFC 7692 §5).
      ['permessage-deflate; server_max_window_bits=8, permessage-deflate', AGREED],
      ['x-webkit-deflate-frame, permessage-deflate; client_max_window_bits=15', AGREED],
    ] as const) {
      const client = await openWith(server, offer)
      assert.equal(client.headers.get('sec-websocket-extensions'), answer, offer)
      client.close()
    }
  })
})

test('13.x an offer with an unknown, repeated or bad parameter is declined: no extension, frames uncompressed', async () => {
  await withEcho(async (server) => {
    for (const offer of ['permessage-deflate; foo', 'permessage-deflate; server_no_context_takeover; server_no_context_takeover', 'permessage-deflate; server_max_window_bits=16', 'permessage-deflate; server_max_window_bits', 'permessage-deflate; client_max_window_bits=7', 'permessage-deflate; server_no_context_takeover=1']) {
      const client = await openWith(server, offer)
      assert.equal(client.headers.has('sec-websocket-extensions'), false, offer)
      // Without the extension, RSV1 is a protocol error.
      client.send(clientFrame(TEXT, deflate('x'.repeat(100)), { rsv1: true }))
      assert.equal((await client.closeFrame()).code, 1002)
      client.close()
    }
  })
})

test('13.x a server without perMessageDeflate never agrees to it', async () => {
  await withEcho(async (server) => {
    const client = await openWith(server, 'permessage-deflate')
    assert.equal(client.headers.has('sec-websocket-extensions'), false)
    client.close()
  }, {}, false)
})

test('12.x compressed messages of many sizes are inflated, and echoed compressed (RSV1) from compressBytesMin on', async () => {
  await withEcho(async (server) => {
    const client = await openWith(server, 'permessage-deflate')
    for (const size of [0, 16, 63, 64, 1000, 65536, 131072, 1 << 20]) {
      const text = 'the quick brown fox '.repeat(Math.ceil(size / 20)).slice(0, size)
      client.send(clientFrame(TEXT, deflate(text), { rsv1: true }))
      const frame = await client.frame()
      assert.equal(frame.rsv1, size >= 64, `size ${size}`)
      assert.equal((frame.rsv1 ? inflate(frame.payload) : frame.payload).toString(), text)
      const bytes = Buffer.alloc(size, size & 0xff)
      client.send(clientFrame(BINARY, deflate(bytes), { rsv1: true }))
      const binary = await client.frame()
      assert.ok((binary.rsv1 ? inflate(binary.payload) : binary.payload).equals(bytes))
    }
    // Uncompressed messages are still fine on a compressing connection.
    client.send(clientFrame(TEXT, 'plain'))
    assert.equal((await client.frame()).payload.toString(), 'plain')
    client.close()
  })
})

test('12.x a compressed message in fragments (RSV1 on the first only) is joined, then inflated', async () => {
  await withEcho(async (server) => {
    const client = await openWith(server, 'permessage-deflate')
    const text = 'fragmented and compressed '.repeat(200)
    const compressed = deflate(text)
    const third = Math.floor(compressed.length / 3)
    client.send(clientFrame(TEXT, compressed.subarray(0, third), { rsv1: true, fin: false }))
    client.send(clientFrame(9, 'ping between'))
    client.send(clientFrame(0, compressed.subarray(third, 2 * third), { fin: false }))
    client.send(clientFrame(0, compressed.subarray(2 * third)))
    assert.equal((await client.frame()).opcode, 10)
    const frame = await client.frame()
    assert.equal(inflate(frame.payload).toString(), text)
    client.close()
  })
})

test('13.x server_max_window_bits=9: what the server sends inflates with a 512-byte window', async () => {
  await withEcho(async (server) => {
    const client = await openWith(server, 'permessage-deflate; server_max_window_bits=9')
    const text = Array.from({ length: 2000 }, (_, index) => String(index % 97)).join(',')
    client.send(clientFrame(TEXT, text))
    const frame = await client.frame()
    assert.equal(frame.rsv1, true)
    const inflated = zlib.inflateRawSync(Buffer.concat([frame.payload, Buffer.from([0, 0, 0xff, 0xff])]), { windowBits: 9, finishFlush: zlib.constants.Z_SYNC_FLUSH })
    assert.equal(inflated.toString(), text)
    client.close()
  })
})

test('6.1 RSV1 on a continuation frame, or on a control frame, fails the connection with 1002', async () => {
  await withEcho(async (server) => {
    const client = await openWith(server, 'permessage-deflate')
    client.send(clientFrame(TEXT, 'a', { fin: false }))
    client.send(clientFrame(0, 'b', { rsv1: true }))
    assert.equal((await client.closeFrame()).code, 1002)
    client.close()
    const second = await openWith(server, 'permessage-deflate')
    second.send(clientFrame(9, '', { rsv1: true }))
    assert.equal((await second.closeFrame()).code, 1002)
    second.close()
  })
})

test('9.x a decompression bomb is stopped at messageBytesMax with 1009; exactly messageBytesMax passes', async () => {
  const limit = 1 << 20
  await withEcho(async (server) => {
    const bomb = deflate(Buffer.alloc(64 << 20))
    assert.ok(bomb.length < 100_000)
    const client = await openWith(server, 'permessage-deflate')
    client.send(clientFrame(BINARY, deflate(Buffer.alloc(limit, 1)), { rsv1: true }))
    const frame = await client.frame()
    assert.equal(inflate(frame.payload).length, limit)
    client.send(clientFrame(BINARY, deflate(Buffer.alloc(limit + 1, 1)), { rsv1: true }))
    assert.equal((await client.closeFrame()).code, 1009)
    client.close()
    const second = await openWith(server, 'permessage-deflate')
    second.send(clientFrame(BINARY, bomb, { rsv1: true }))
    assert.equal((await second.closeFrame()).code, 1009)
    second.close()
  }, { messageBytesMax: limit })
})

test('12.x compressed data that is not deflate, or compressed text that is not UTF-8, fails with 1007', async () => {
  await withEcho(async (server) => {
    const client = await openWith(server, 'permessage-deflate')
    client.send(clientFrame(BINARY, Buffer.from([0xff, 0xff, 0xff, 0xff]), { rsv1: true }))
    assert.equal((await client.closeFrame()).code, 1007)
    client.close()
    const second = await openWith(server, 'permessage-deflate')
    second.send(clientFrame(TEXT, deflate(Buffer.from([0x61, 0xff])), { rsv1: true }))
    assert.equal((await second.closeFrame()).code, 1007)
    second.close()
  })
})

test('publish frames and compresses once: deflate subscribers get the same compressed frame, others plain', async () => {
  const server = await serve({
    port: 0,
    handler: (_request, response) => void response.upgrade(),
    websocket: {
      perMessageDeflate: true,
      open: (ws) => ws.subscribe('news'),
      message: (ws, message) => void ws.publish('news', message),
    },
  })
  try {
    const [a, b, plain] = await Promise.all([openWith(server, 'permessage-deflate'), openWith(server, 'permessage-deflate'), openWith(server, undefined)])
    const text = 'breaking news, '.repeat(50)
    assert.equal(server.publish('news', text), 3)
    const [fa, fb, fp] = await Promise.all([a!.frame(), b!.frame(), plain!.frame()])
    assert.deepEqual([fa.rsv1, fb.rsv1, fp.rsv1], [true, true, false])
    assert.ok(fa.payload.equals(fb.payload))
    assert.equal(inflate(fa.payload).toString(), text)
    assert.equal(fp.payload.toString(), text)
    // ws.publish reaches everyone subscribed but the sender.
    plain!.send(clientFrame(TEXT, 'from plain'))
    assert.equal((await a!.frame()).payload.toString(), 'from plain')
    assert.equal((await b!.frame()).payload.toString(), 'from plain')
    await new Promise((resolve) => setTimeout(resolve, 50))
    assert.equal(plain!.pending.length, 0)
    for (const client of [a, b, plain]) client!.close()
  } finally {
    await server.close()
  }
})
