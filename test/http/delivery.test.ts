/*
 * Every way of sending a body, delivered to peers that read the way real clients do: slower than every
 * timeout (a body that takes longer to read than idleTimeoutMs, headersTimeoutMs and bodyTimeoutMs
 * together must arrive whole), not at all (cut by sendTimeoutMs without progress, nothing else), and a
 * handler that writes in a synchronous loop (write() must push back, memory must stay near the mark).
 *
 * The bodies are larger than what the kernel buffers on loopback (tcp_rmem/tcp_wmem), so most of each one
 * waits in the server's own buffers while the peer reads.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { connect, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import type { FetchHandler, Handler, Server } from '../../src/index.ts'
import { collectGarbage } from '../helpers/gc.ts'
import { assertNoOpenHandles, parseReplies, withServer } from '../helpers/raw-client.ts'

/** Short timeouts: a body read at SLOW_BYTES_PER_S takes several times their sum. */
const limits = { idleTimeoutMs: 150, headersTimeoutMs: 150, bodyTimeoutMs: 150, sendTimeoutMs: 1500 }
const BODY_BYTES = 40 * 2 ** 20
const SLOW_BYTES_PER_S = 32 * 2 ** 20
const STREAM_CHUNK_BYTES = 64 * 1024

/** Bytes whose every position is checkable: byte i is i mod 251. */
function pattern(length: number): Buffer {
  const bytes = Buffer.allocUnsafe(length)
  for (let i = 0; i < length; i++) bytes[i] = i % 251
  return bytes
}
const body = pattern(BODY_BYTES)
const bodyText = body.toString('latin1').replace(/[^\x20-\x7e]/g, 'x')

interface ReadResult {
  /** Everything received, or with `keep` false only the first 4 KiB (the head) and the last 64 bytes. */
  bytes: Buffer
  tail: Buffer
  received: number
  closedByServer: boolean
  ms: number
}

/**
 * Sends `request` and reads what comes back at about `bytesPerS` (reading paused between ticks), until the
 * server closes or `expectedBytes` have arrived. Bounded by `timeoutMs`.
 */
async function slowRead(port: number, request: string, bytesPerS: number, expectedBytes: number, timeoutMs = 20_000, keep = true): Promise<ReadResult> {
  const socket = connect({ port, host: '127.0.0.1' })
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject))
  const started = Date.now()
  const parts: Buffer[] = []
  let received = 0
  let allowed = 64 * 1024
  let closedByServer = false
  let tail = Buffer.alloc(0)
  socket.on('data', (bytes: Buffer) => {
    if (keep || received < 4096) parts.push(keep ? bytes : Buffer.from(bytes.subarray(0, 4096 - received)))
    if (!keep) tail = bytes.length >= 64 ? Buffer.from(bytes.subarray(-64)) : Buffer.concat([tail, bytes]).subarray(-64)
    received += bytes.length
    if (received >= allowed) socket.pause()
  })
  socket.on('error', () => {})
  socket.write(request)
  const tickMs = 10
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      allowed += (bytesPerS * tickMs) / 1000
      if (received < allowed) socket.resume()
      if (received >= expectedBytes || Date.now() - started > timeoutMs) finish()
    }, tickMs)
    socket.on('end', () => {
      closedByServer = true
      finish()
    })
    socket.on('close', () => {
      closedByServer = true
      finish()
    })
    function finish(): void {
      clearInterval(timer)
      resolve()
    }
  })
  socket.destroy()
  return { bytes: Buffer.concat(parts), tail, received, closedByServer, ms: Date.now() - started }
}

/**
 * Sends `request` and never reads. A peer that does not read never sees the server's FIN either, so the
 * server's own count of connections tells when it gave up: resolves then (or after `timeoutMs`).
 */
async function neverRead(server: Server, request: string, timeoutMs = 20_000): Promise<{ closedByServer: boolean; ms: number }> {
  const socket: Socket = connect({ port: server.port, host: '127.0.0.1' })
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject))
  socket.pause()
  socket.on('error', () => {})
  const started = Date.now()
  socket.write(request)
  // The server may not have accepted the connection yet: first see it, then see it go.
  while (server.connections === 0 && Date.now() - started < timeoutMs) await new Promise((resolve) => setTimeout(resolve, 5))
  while (server.connections > 0 && Date.now() - started < timeoutMs) await new Promise((resolve) => setTimeout(resolve, 20))
  const result = { closedByServer: server.connections === 0, ms: Date.now() - started }
  socket.destroy()
  return result
}

let folder: string
before(async () => {
  folder = await mkdtemp(join(tmpdir(), 'wirespeed-delivery-'))
  await writeFile(join(folder, 'big.bin'), body)
})
after(async () => {
  await rm(folder, { recursive: true, force: true })
  await assertNoOpenHandles()
})

/** Each way of sending a body, as a handler (the static ones serve `big.bin` from `folder`). */
const ways: { name: string; handler?: Handler; fetch?: FetchHandler; routes?: Record<string, Response>; static?: (root: string) => object; expected: Buffer }[] = [
  { name: 'send() with bytes', handler: (_request, response) => response.send(body), expected: body },
  { name: 'send() with a string', handler: (_request, response) => response.send(bodyText), expected: Buffer.from(bodyText, 'latin1') },
  {
    name: 'json()',
    handler: (_request, response) => response.json(bodyText.slice(0, BODY_BYTES - 2)),
    expected: Buffer.from(JSON.stringify(bodyText.slice(0, BODY_BYTES - 2)), 'latin1'),
  },
  {
    name: 'write()/end() awaiting drain()',
    handler: async (_request, response) => {
      for (let at = 0; at < body.length; at += STREAM_CHUNK_BYTES) {
        if (!response.write(body.subarray(at, at + STREAM_CHUNK_BYTES))) await response.drain()
      }
      response.end()
    },
    expected: body,
  },
  {
    name: 'write()/end() without waiting',
    handler: (_request, response) => {
      for (let at = 0; at < body.length; at += 1 << 20) response.write(body.subarray(at, at + (1 << 20)))
      response.end()
    },
    expected: body,
  },
  { name: 'fetch mode, a string body', fetch: () => new Response(bodyText), expected: Buffer.from(bodyText, 'latin1') },
  { name: 'fetch mode, a bytes body', fetch: () => new Response(body), expected: body },
  { name: 'fetch mode, a Blob body', fetch: () => new Response(new Blob([new Uint8Array(body)])), expected: body },
  { name: 'fetch mode, a ReadableStream body (chunked)', fetch: () => new Response(chunks(body)), expected: body },
  {
    name: 'fetch mode, a ReadableStream body with Content-Length',
    fetch: () => new Response(chunks(body), { headers: { 'Content-Length': String(body.length) } }),
    expected: body,
  },
  { name: 'a route with a fixed Response', routes: { '/big.bin': new Response(body) }, expected: body },
  // With room in the cache for a copy in memory, epoll sends the file by sendfile(2) from that copy; without, from the Buffer.
  { name: 'static from memory, by sendfile from its copy in memory on epoll', static: (root) => ({ root, fileBytesMax: BODY_BYTES, cacheBytesMax: 2 * BODY_BYTES }), expected: body },
  { name: 'static from memory, sent from the Buffer', static: (root) => ({ root, fileBytesMax: BODY_BYTES, cacheBytesMax: BODY_BYTES }), expected: body },
  { name: 'static streamed from disk', static: (root) => ({ root, fileBytesMax: 1 << 20 }), expected: body },
]

/** `bytes` as a pull stream of STREAM_CHUNK_BYTES chunks: nothing is made before the reader asks. */
function chunks(bytes: Buffer): ReadableStream<Uint8Array> {
  let at = 0
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.length) return controller.close()
      controller.enqueue(bytes.subarray(at, at + STREAM_CHUNK_BYTES))
      at += STREAM_CHUNK_BYTES
    },
  })
}

function optionsFor(way: (typeof ways)[number]): Parameters<typeof withServer>[0] {
  if (way.static) return { static: way.static(folder) as never, limits }
  if (way.fetch) return { fetch: way.fetch, limits }
  if (way.routes) return { routes: way.routes, limits }
  return { handler: way.handler!, limits }
}

describe('a client that reads slower than every timeout gets the whole body', () => {
  const requests = [
    ['HTTP/1.1 keep-alive', 'GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['HTTP/1.1 Connection: close', 'GET /big.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'],
    ['HTTP/1.0', 'GET /big.bin HTTP/1.0\r\n\r\n'],
  ] as const
  for (const way of ways) {
    for (const [kind, request] of requests) {
      // Every way runs on keep-alive; the ending deadlines (linger after close) are checked on two ways.
      if (kind !== 'HTTP/1.1 keep-alive' && way.name !== 'send() with bytes' && way.name !== 'static streamed from disk') continue
      test(`${way.name}, ${kind}`, async () => {
        await withServer(optionsFor(way), async (server) => {
          const result = await slowRead(server.port, request, SLOW_BYTES_PER_S, way.expected.length + 300)
          const sumMs = limits.idleTimeoutMs + limits.headersTimeoutMs + limits.bodyTimeoutMs
          assert.ok(result.ms > sumMs, `the read took ${result.ms} ms, not longer than the timeouts (${sumMs} ms)`)
          const replies = parseReplies(result.bytes)
          assert.equal(replies.length, 1, `one whole reply (got ${result.bytes.length} bytes in ${result.ms} ms)`)
          assert.equal(replies[0]!.status, 200)
          assert.equal(replies[0]!.body.length, way.expected.length)
          assert.ok(replies[0]!.body.equals(way.expected), 'the body arrived byte for byte')
        })
      })
    }
  }
})

describe('a client that never reads is cut by sendTimeoutMs, and only then', () => {
  for (const way of ways) {
    test(way.name, async () => {
      await withServer(optionsFor(way), async (server) => {
        const result = await neverRead(server, 'GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n')
        assert.ok(result.closedByServer, 'the server closed the stalled connection')
        assert.ok(result.ms >= limits.sendTimeoutMs, `closed after ${result.ms} ms, before sendTimeoutMs (${limits.sendTimeoutMs} ms)`)
      })
    })
  }
})

describe('write() pushes back in a synchronous loop', () => {
  const mark = 64 * 1024
  for (const [what, chunk, count] of [
    ['64 KiB buffers', Buffer.alloc(64 * 1024, 97), 1000],
    ['100-byte strings', 'x'.repeat(100), 200_000],
  ] as const) {
    test(`${count} writes of ${what} (${Math.round((chunk.length * count) / mark)}× the high-water mark) stay near the mark`, async () => {
      let falseReturns = 0
      const handler: Handler = async (_request, response) => {
        for (let i = 0; i < count; i++) {
          if (!response.write(chunk)) {
            falseReturns++
            await response.drain()
          }
        }
        response.end()
      }
      await withServer({ handler, limits: { ...limits, writeBufferBytesHigh: mark } }, async (server) => {
        // Measured after a collection each time: what is referenced, not garbage not yet collected.
        collectGarbage()
        const rssBefore = process.memoryUsage().rss
        let rssPeak = rssBefore
        const sampler = setInterval(() => {
          collectGarbage()
          rssPeak = Math.max(rssPeak, process.memoryUsage().rss)
        }, 20)
        // The client keeps only the head and the last bytes, so that RSS shows what the server holds.
        const framing = `${chunk.length.toString(16)}\r\n\r\n`.length
        const bodyBytes = count * (chunk.length + framing) + '0\r\n\r\n'.length
        const result = await slowRead(server.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n', 256 * 2 ** 20, bodyBytes + 300, 60_000, false)
        clearInterval(sampler)
        const headBytes = result.bytes.indexOf('\r\n\r\n') + 4
        assert.match(result.bytes.toString('latin1', 0, headBytes), /^HTTP\/1\.1 200 OK\r\n[^]*Transfer-Encoding: chunked\r\n/)
        assert.equal(result.received, headBytes + bodyBytes, 'every chunk arrived, and nothing else')
        assert.ok(result.tail.toString('latin1').endsWith('\r\n0\r\n\r\n'), 'the body ended with its last chunk')
        assert.ok(falseReturns > 0, 'write() returned false at least once')
        // The loop wrote 20-60 MiB; what is held at once is the mark plus the kernel's buffers, not the body.
        const grewMiB = (rssPeak - rssBefore) / 2 ** 20
        assert.ok(grewMiB < 48, `RSS grew by ${grewMiB.toFixed(1)} MiB while writing ${((chunk.length * count) / 2 ** 20).toFixed(0)} MiB`)
      })
    })
  }
})
