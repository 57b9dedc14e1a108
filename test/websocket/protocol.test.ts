/*
 * RFC 6455 over a real socket, with exact frames from a raw client. The Autobahn|Testsuite is the reference
 * conformance suite and cannot be installed here, so each of its sections has cases of our own below; the
 * number in a test's name is the Autobahn section it stands for:
 *
 *   1  framing: text and binary messages of every length class (0, 125, 126, 127, 65535, 65536), split at
 *      every byte, several frames in one read
 *   2  pings and pongs: echo of the payload, 125 bytes, 126 → 1002, fragmented ping → 1002, unsolicited pong
 *   3  reserved bits: RSV1/RSV2/RSV3 on text, binary, ping and close without an extension → 1002
 *   4  opcodes: reserved data (3-7) and control (11-15) opcodes → 1002
 *   5  fragmentation: fragmented text and binary, control frames between fragments, a continuation with
 *      nothing to continue, a new message inside a fragmented one, an empty final fragment
 *   6  UTF-8: valid multi-byte text split anywhere, invalid sequences (overlong, surrogates, past U+10FFFF,
 *      truncated) → 1007, failed in the read that brings the bad byte (mid-frame, and across fragments)
 *   7  close handling: echo of the code, empty close, data after close ignored, a 1-byte close → 1002,
 *      invalid codes → 1002, valid codes echoed, invalid UTF-8 reason → 1007, close timeout, server close()
 *   9  limits: messages and frames at messageBytesMax / frameBytesMax (N passes, N + 1 → 1009), a 16 MiB
 *      message in 64 KiB fragments
 *  10  misc: an unmasked client frame → 1002, server frames never masked, a frame that arrives with the
 *      upgrade request
 *  12, 13 (compression) are in deflate.test.ts; the handshake in handshake.test.ts.
 */
import assert from 'node:assert/strict'
import { after, test } from 'node:test'
import { serve, type Server, type WebSocketHandler } from '../../src/index.ts'
import { assertNoOpenHandles } from '../helpers/raw-client.ts'
import { clientFrame, closePayload, upgradeRequest, WsClient } from '../helpers/ws-client.ts'

after(assertNoOpenHandles)

const TEXT = 1
const BINARY = 2
const CLOSE = 8
const PING = 9
const PONG = 10

/** An echo server: every message back, as it came; `closes` records what close handlers saw. */
async function withEcho(body: (server: Server, closes: [number, string][]) => Promise<void>, extra: Partial<WebSocketHandler> = {}): Promise<void> {
  const closes: [number, string][] = []
  const server = await serve({
    port: 0,
    handler(_request, response) {
      if (!response.upgrade()) response.status(426).send('WebSocket only')
    },
    websocket: { message: (ws, message) => void ws.send(message), close: (_ws, code, reason) => void closes.push([code, reason]), ...extra },
    onError: () => {},
  })
  try {
    await body(server, closes)
  } finally {
    await server.close()
  }
}

async function open(server: Server): Promise<WsClient> {
  const client = await WsClient.open(server.port)
  assert.equal(client.status, 101)
  return client
}

/** Sends `frames` and expects the server to fail the connection with `code`, then end it. */
async function expectFail(server: Server, code: number, ...frames: Buffer[]): Promise<void> {
  const client = await open(server)
  for (const frame of frames) client.send(frame)
  const close = await client.closeFrame()
  assert.equal(close.code, code, `expected close ${code}, got ${close.code} (${close.reason})`)
  await client.waitEnd()
  client.close()
}

test('1.1/1.2 text and binary messages of every length class are echoed whole, in frames never masked', async () => {
  await withEcho(async (server) => {
    const client = await open(server)
    for (const length of [0, 1, 125, 126, 127, 65535, 65536, 200_000]) {
      client.send(clientFrame(TEXT, 'a'.repeat(length)))
      const text = await client.frame()
      assert.deepEqual([text.opcode, text.fin, text.masked, text.payload.length], [TEXT, true, false, length])
      const bytes = Buffer.alloc(length, length & 0xff)
      client.send(clientFrame(BINARY, bytes))
      const binary = await client.frame()
      assert.equal(binary.opcode, BINARY)
      assert.ok(binary.payload.equals(bytes))
    }
    client.close()
  })
})

test('1.1 a message split at every byte, and several messages in one read, arrive the same', async () => {
  await withEcho(async (server) => {
    const client = await open(server)
    const frame = clientFrame(TEXT, 'héllo wörld, 128 bytes: '.padEnd(200, 'x'))
    for (let cut = 1; cut < frame.length; cut += 7) {
      client.send(frame.subarray(0, cut))
      await new Promise((resolve) => setImmediate(resolve))
      client.send(frame.subarray(cut))
      assert.equal((await client.frame()).payload.toString(), 'héllo wörld, 128 bytes: '.padEnd(200, 'x'))
    }
    client.send(Buffer.concat([clientFrame(TEXT, 'one'), clientFrame(TEXT, 'two'), clientFrame(BINARY, 'three')]))
    assert.deepEqual([(await client.frame()).payload.toString(), (await client.frame()).payload.toString(), (await client.frame()).payload.toString()], ['one', 'two', 'three'])
    client.close()
  })
})

test('2.1-2.3 a ping is answered with a pong carrying its payload (empty, binary, 125 bytes)', async () => {
  await withEcho(async (server) => {
    const client = await open(server)
    for (const payload of [Buffer.alloc(0), Buffer.from([0, 255, 1, 254]), Buffer.alloc(125, 0x61)]) {
      client.send(clientFrame(PING, payload))
      const pong = await client.frame()
      assert.equal(pong.opcode, PONG)
      assert.ok(pong.payload.equals(payload))
    }
    client.close()
  })
})

test('2.4 a ping of 126 bytes fails the connection with 1002', async () => {
  await withEcho((server) => expectFail(server, 1002, clientFrame(PING, Buffer.alloc(126))))
})

test('2.5 a fragmented ping fails the connection with 1002', async () => {
  await withEcho((server) => expectFail(server, 1002, clientFrame(PING, 'a', { fin: false })))
})

test('2.6-2.7 an unsolicited pong is ignored, and ten pings get ten pongs in order', async () => {
  await withEcho(async (server) => {
    const client = await open(server)
    client.send(clientFrame(PONG, 'unasked'))
    for (let index = 0; index < 10; index++) client.send(clientFrame(PING, `ping ${index}`))
    for (let index = 0; index < 10; index++) assert.equal((await client.frame()).payload.toString(), `ping ${index}`)
    client.send(clientFrame(TEXT, 'after'))
    assert.equal((await client.frame()).payload.toString(), 'after')
    client.close()
  })
})

for (const [name, options] of [['RSV1', { rsv1: true }], ['RSV2', { rsv2: true }], ['RSV3', { rsv3: true }]] as const) {
  for (const [kind, opcode] of [['text', TEXT], ['binary', BINARY], ['ping', PING], ['close', CLOSE]] as const) {
    test(`3.x ${name} set on a ${kind} frame without an extension fails the connection with 1002`, async () => {
      await withEcho((server) => expectFail(server, 1002, clientFrame(opcode, opcode === CLOSE ? closePayload(1000) : 'x', options)))
    })
  }
}

test('3.x a reserved bit fails the connection even after a good message was echoed', async () => {
  await withEcho(async (server) => {
    const client = await open(server)
    client.send(Buffer.concat([clientFrame(TEXT, 'good'), clientFrame(TEXT, 'bad', { rsv2: true }), clientFrame(TEXT, 'never')]))
    const close = await client.closeFrame()
    assert.equal(close.code, 1002)
    assert.deepEqual(close.before.map((frame) => frame.payload.toString()), ['good'])
    client.close()
  })
})

for (const opcode of [3, 4, 5, 6, 7, 11, 12, 13, 14, 15]) {
  test(`4.x the reserved opcode ${opcode} fails the connection with 1002`, async () => {
    await withEcho((server) => expectFail(server, 1002, clientFrame(opcode, 'x')))
  })
}

test('5.x fragmented text and binary messages are joined, with pings between fragments answered at once', async () => {
  await withEcho(async (server) => {
    const client = await open(server)
    client.send(clientFrame(TEXT, 'frag', { fin: false }))
    client.send(clientFrame(PING, 'between'))
    const pong = await client.frame()
    assert.deepEqual([pong.opcode, pong.payload.toString()], [PONG, 'between'])
    client.send(clientFrame(0, 'men', { fin: false }))
    client.send(clientFrame(0, '', { fin: false }))
    client.send(clientFrame(0, 'ted'))
    assert.equal((await client.frame()).payload.toString(), 'fragmented')
    client.send(Buffer.concat([clientFrame(BINARY, Buffer.from([1, 2]), { fin: false }), clientFrame(PONG, ''), clientFrame(0, Buffer.from([3]))]))
    const binary = await client.frame()
    assert.deepEqual([binary.opcode, [...binary.payload]], [BINARY, [1, 2, 3]])
    client.send(Buffer.concat([clientFrame(TEXT, '', { fin: false }), clientFrame(0, '')]))
    assert.equal((await client.frame()).payload.length, 0)
    client.close()
  })
})

test('5.x a continuation frame with no message to continue fails the connection with 1002', async () => {
  await withEcho((server) => expectFail(server, 1002, clientFrame(0, 'orphan')))
})

test('5.x a new message inside a fragmented one fails the connection with 1002', async () => {
  await withEcho((server) => expectFail(server, 1002, clientFrame(TEXT, 'a', { fin: false }), clientFrame(TEXT, 'b')))
})

test('6.x valid UTF-8 text split at every byte is delivered exactly', async () => {
  const text = 'κόσμε €𝄞 ascii 日本語 ￿'
  const received: string[] = []
  await withEcho(async (server) => {
    const client = await open(server)
    const bytes = Buffer.from(text)
    for (let cut = 1; cut < bytes.length; cut++) {
      // The same text, as two fragments cut at `cut` (inside characters too).
      client.send(Buffer.concat([clientFrame(TEXT, bytes.subarray(0, cut), { fin: false }), clientFrame(0, bytes.subarray(cut))]))
      received.push((await client.frame()).payload.toString())
    }
    client.close()
  })
  assert.ok(received.every((each) => each === text))
})

const INVALID_UTF8: [string, number[]][] = [
  ['a lone continuation byte', [0x80]],
  ['an overlong "/"', [0xc0, 0xaf]],
  ['an overlong NUL in three bytes', [0xe0, 0x80, 0x80]],
  ['a UTF-16 surrogate', [0xed, 0xa0, 0x80]],
  ['a code point past U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
  ['the byte 0xFE', [0xfe]],
  ['a truncated sequence at the end', [0x61, 0xe2, 0x82]],
]
for (const [name, bytes] of INVALID_UTF8) {
  test(`6.x text with ${name} fails the connection with 1007`, async () => {
    await withEcho((server) => expectFail(server, 1007, clientFrame(TEXT, Buffer.from([0x68, 0x69, ...bytes]))))
  })
}

test('6.4 invalid UTF-8 fails the connection in the read that brings it: mid-frame, and across fragments', async () => {
  await withEcho(async (server) => {
    // One frame of 1000 bytes whose 10th is bad: the rest never comes, the close must.
    const client = await open(server)
    const frame = clientFrame(TEXT, Buffer.concat([Buffer.from('valid....'), Buffer.from([0xff]), Buffer.alloc(990, 0x61)]))
    client.send(frame.subarray(0, 6 + 2 + 20))
    assert.equal((await client.closeFrame()).code, 1007)
    client.close()
    // A first fragment that is valid, then a second whose start breaks it: failed before any third.
    const second = await open(server)
    second.send(clientFrame(TEXT, Buffer.from([0xce, 0xba, 0xe1]), { fin: false }))
    second.send(clientFrame(0, Buffer.from([0x28, 0x61]), { fin: false }))
    assert.equal((await second.closeFrame()).code, 1007)
    second.close()
  })
})

test('7.1 a close frame is answered with the same code, then the server ends the connection; close handler gets it', async () => {
  await withEcho(async (server, closes) => {
    const client = await open(server)
    client.send(clientFrame(CLOSE, closePayload(1000, 'done')))
    const close = await client.closeFrame()
    assert.equal(close.code, 1000)
    await client.waitEnd()
    client.close()
    await waitFor(() => closes.length === 1)
    assert.deepEqual(closes, [[1000, 'done']])
  })
})

test('7.1 an empty close frame is answered with an empty one (no 1005 on the wire), the handler gets 1005', async () => {
  await withEcho(async (server, closes) => {
    const client = await open(server)
    client.send(clientFrame(CLOSE))
    const frame = await client.frame()
    assert.deepEqual([frame.opcode, frame.payload.length], [CLOSE, 0])
    await client.waitEnd()
    client.close()
    await waitFor(() => closes.length === 1)
    assert.deepEqual(closes, [[1005, '']])
  })
})

test('7.1 data after a close frame is ignored', async () => {
  await withEcho(async (server) => {
    const client = await open(server)
    client.send(Buffer.concat([clientFrame(CLOSE, closePayload(1000)), clientFrame(TEXT, 'too late'), clientFrame(PING, 'late')]))
    const close = await client.closeFrame()
    assert.deepEqual([close.code, close.before.length], [1000, 0])
    await client.waitEnd()
    assert.equal(client.pending.length, 0)
    client.close()
  })
})

test('7.3 a close frame with a 1-byte payload fails the connection with 1002', async () => {
  await withEcho((server) => expectFail(server, 1002, clientFrame(CLOSE, Buffer.from([0x03]))))
})

for (const code of [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535]) {
  test(`7.9 the invalid close code ${code} fails the connection with 1002`, async () => {
    await withEcho((server) => expectFail(server, 1002, clientFrame(CLOSE, closePayload(code))))
  })
}

test('7.7 every valid close code is echoed (1000-1003, 1007-1014, 3000, 3999, 4000, 4999)', async () => {
  await withEcho(async (server) => {
    for (const code of [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999]) {
      const client = await open(server)
      client.send(clientFrame(CLOSE, closePayload(code, 'reason')))
      assert.equal((await client.closeFrame()).code, code)
      client.close()
    }
  })
})

test('7.5 a close reason that is not UTF-8 fails the connection with 1007', async () => {
  await withEcho((server) => expectFail(server, 1007, clientFrame(CLOSE, closePayload(1000, Buffer.from([0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5, 0xed, 0xa0, 0x80])))))
})

test('7.x ws.close() sends the code, waits for the answer, and a peer that never answers is dropped after closeTimeoutMs', async () => {
  const server = await serve({
    port: 0,
    handler: (_request, response) => void response.upgrade(),
    websocket: { message: (ws, message) => ws.close(4000, String(message)), closeTimeoutMs: 200 },
  })
  try {
    const polite = await open(server)
    polite.send(clientFrame(TEXT, 'bye'))
    const close = await polite.closeFrame()
    assert.deepEqual([close.code, close.reason], [4000, 'bye'])
    polite.send(clientFrame(CLOSE, closePayload(4000)))
    await polite.waitEnd()
    polite.close()
    const silent = await open(server)
    silent.send(clientFrame(TEXT, 'bye'))
    assert.equal((await silent.closeFrame()).code, 4000)
    // Without the close timeout the server would wait for the peer's close frame for ever.
    await silent.until(() => silent.ended || silent.closed, 'the server to drop a peer that never answers', 3000)
    silent.close()
  } finally {
    await server.close()
  }
})

test('7.x ws.close() refuses codes the wire may not carry and reasons over 123 bytes', async () => {
  const errors: string[] = []
  const server = await serve({
    port: 0,
    handler: (_request, response) => void response.upgrade(),
    websocket: {
      message(ws) {
        for (const [code, reason] of [[1005, ''], [1006, ''], [999, ''], [1000, 'x'.repeat(124)]] as const) {
          try {
            ws.close(code, reason)
          } catch (error) {
            errors.push((error as Error).message)
          }
        }
        ws.close(1000, 'x'.repeat(123))
      },
    },
  })
  try {
    const client = await open(server)
    client.send(clientFrame(TEXT, 'go'))
    const close = await client.closeFrame()
    assert.deepEqual([close.code, close.reason.length], [1000, 123])
    assert.equal(errors.length, 4)
    assert.match(errors[0]!, /Invalid close code 1005/)
    assert.match(errors[3]!, /124 bytes of UTF-8, at most 123/)
    client.close()
  } finally {
    await server.close()
  }
})

test('9.x a message of messageBytesMax passes; one byte more (in one frame, or over fragments) fails with 1009', async () => {
  await withEcho(async (server) => {
    const client = await open(server)
    client.send(clientFrame(BINARY, Buffer.alloc(1000, 1)))
    assert.equal((await client.frame()).payload.length, 1000)
    client.close()
    await expectFail(server, 1009, clientFrame(BINARY, Buffer.alloc(1001, 1)))
    await expectFail(server, 1009, clientFrame(TEXT, 'a'.repeat(600), { fin: false }), clientFrame(0, 'a'.repeat(401)))
  }, { messageBytesMax: 1000 })
})

test('9.x a frame over frameBytesMax fails with 1009 from its head, before its payload is read', async () => {
  await withEcho(async (server) => {
    const ok = await open(server)
    ok.send(Buffer.concat([clientFrame(TEXT, 'a'.repeat(500), { fin: false }), clientFrame(0, 'a'.repeat(500))]))
    assert.equal((await ok.frame()).payload.length, 1000)
    ok.close()
    // The head promises 2^40 bytes; nothing else is sent, and the server must not wait for them.
    const head = clientFrame(BINARY, '', { length: 2 ** 40 })
    await expectFail(server, 1009, head)
    await expectFail(server, 1009, clientFrame(BINARY, Buffer.alloc(501)))
  }, { frameBytesMax: 500 })
})

test('9.x a 16 MiB message in 64 KiB fragments is echoed whole', async () => {
  await withEcho(async (server) => {
    const client = await open(server)
    const size = 16 << 20
    const fragment = 64 << 10
    for (let at = 0; at < size; at += fragment) {
      client.send(clientFrame(at === 0 ? BINARY : 0, Buffer.alloc(fragment, (at / fragment) & 0xff), { fin: at + fragment >= size }))
    }
    const echo = await client.frame(20_000)
    assert.equal(echo.payload.length, size)
    assert.equal(echo.payload[size - 1], (size / fragment - 1) & 0xff)
    client.close()
  })
})

test('10.x an unmasked client frame fails the connection with 1002', async () => {
  await withEcho((server) => expectFail(server, 1002, clientFrame(TEXT, 'plain', { mask: false })))
})

test('10.x frames sent with the upgrade request (before the 101 arrived) are read as WebSocket frames', async () => {
  await withEcho(async (server) => {
    const client = await WsClient.open(server.port, Buffer.concat([Buffer.from(upgradeRequest()), clientFrame(TEXT, 'early'), clientFrame(PING, 'p')]))
    assert.equal(client.status, 101)
    assert.equal((await client.frame()).payload.toString(), 'early')
    assert.equal((await client.frame()).opcode, PONG)
    client.close()
  })
})

async function waitFor(done: () => boolean): Promise<void> {
  const deadline = Date.now() + 30_000 // returns as soon as done() holds
  while (!done()) {
    if (Date.now() > deadline) throw new Error('Timed out')
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}
