/*
 * Property tests (fast-check, fixed seeds so a failure is reproducible):
 *   - random valid requests parse to what generated them, cut at random points;
 *   - random bytes never make the parser throw anything but HttpError, nor crash or hang the server;
 *   - random pipelined sequences are answered in order, whatever order their handlers finish in.
 */
import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import fc from 'fast-check'
import { HttpError } from '../../src/index.ts'
import { assertNoOpenHandles, exchange, RawClient, withServer } from '../helpers/raw-client.ts'
import { feed, settle } from './parse-harness.ts'

after(assertNoOpenHandles)

const SEED = 20261127
const tchar = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&\'*+-.^_`|~')
const token = fc.string({ unit: tchar, minLength: 1, maxLength: 16 })
// A backslash is refused in the path and accepted in the query (src/http/chars.ts).
const pathChar = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789-._~!$&\'()*+,;=:@/%[]{}|^`')
const queryChar = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789-._~!$&\'()*+,;=:@/%?[]{}|^`\\')
const target = fc
  .tuple(fc.string({ unit: pathChar, maxLength: 30 }), fc.option(fc.string({ unit: queryChar, maxLength: 20 }), { nil: undefined }))
  .map(([path, query]) => (query === undefined ? `/${path}` : `/${path}?${query}`))
const valueChar = fc.oneof(
  fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789 \t!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~'),
  fc.integer({ min: 0x80, max: 0xff }).map((code) => String.fromCharCode(code)),
)
// Field values: no leading or trailing whitespace (OWS is trimmed by the parser, RFC 9112 §5.1).
const value = fc.string({ unit: valueChar, maxLength: 30 }).map((text) => text.trim())
const reserved = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'expect', 'content-type'])
const field = fc.tuple(token.filter((name) => !reserved.has(name.toLowerCase())), value)
const method = fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH')
const body = fc.option(fc.tuple(fc.string({ maxLength: 200 }), fc.boolean()), { nil: undefined })

interface Generated {
  method: string
  url: string
  headers: [string, string][]
  body: string
  bytes: Buffer
}

const request = fc.tuple(method, target, fc.array(field, { maxLength: 8 }), body).map(([method, url, fields, payload]): Generated => {
  const headers: [string, string][] = [['Host', 'example.com'], ...fields]
  let head = `${method} ${url} HTTP/1.1\r\n${headers.map(([name, text]) => `${name}: ${text}\r\n`).join('')}`
  let bodyBytes = Buffer.alloc(0)
  if (payload !== undefined) {
    const [text, chunked] = payload
    const bytes = Buffer.from(text, 'latin1')
    if (chunked) {
      headers.push(['Transfer-Encoding', 'chunked'])
      head += 'Transfer-Encoding: chunked\r\n'
      const half = bytes.length >> 1
      const chunks = [bytes.subarray(0, half), bytes.subarray(half)].filter((chunk) => chunk.length > 0)
      bodyBytes = Buffer.concat([...chunks.flatMap((chunk) => [Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')]), Buffer.from('0\r\n\r\n')])
    } else {
      headers.push(['Content-Length', String(bytes.length)])
      head += `Content-Length: ${bytes.length}\r\n`
      bodyBytes = bytes
    }
    return { method, url, headers, body: text, bytes: Buffer.concat([Buffer.from(`${head}\r\n`, 'latin1'), bodyBytes]) }
  }
  return { method, url, headers, body: '', bytes: Buffer.from(`${head}\r\n`, 'latin1') }
})

describe('parser properties', () => {
  test('random valid requests parse to what generated them, cut at random points', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(request, { minLength: 1, maxLength: 4 }), fc.array(fc.nat(), { maxLength: 6 }), async (requests, cuts) => {
        const bytes = Buffer.concat(requests.map((one) => one.bytes))
        const points = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b)
        const pieces = [0, ...points, bytes.length].slice(1).map((end, i, ends) => bytes.subarray(i === 0 ? 0 : ends[i - 1]!, end)).filter((piece) => piece.length > 0)
        const result = feed(pieces)
        await settle()
        assert.equal(result.error, undefined, JSON.stringify(result.error))
        assert.deepEqual(
          result.requests.map((parsed) => [parsed.method, parsed.url, parsed.headers, parsed.body]),
          requests.map((one) => [one.method, one.url, one.headers, Buffer.from(one.body, 'latin1').toString('utf8')]),
        )
      }),
      { seed: SEED, numRuns: 300 },
    )
  })

  test('random bytes never throw anything but HttpError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(), (bytes, cut) => {
        const buffer = Buffer.from(bytes)
        const at = buffer.length === 0 ? 0 : cut % buffer.length
        try {
          feed([buffer.subarray(0, at), buffer.subarray(at)].filter((piece) => piece.length > 0))
        } catch (error) {
          assert.ok(error instanceof HttpError, `threw ${error}`)
        }
      }),
      { seed: SEED, numRuns: 3000 },
    )
  })

  test('mutated valid requests never throw anything but HttpError', () => {
    const specials = [0, 9, 10, 13, 32, 58, 127, 255]
    fc.assert(
      fc.property(request, fc.array(fc.tuple(fc.nat(), fc.constantFrom(...specials)), { minLength: 1, maxLength: 5 }), (one, edits) => {
        const bytes = Buffer.from(one.bytes)
        for (const [at, byte] of edits) bytes[at % bytes.length] = byte
        try {
          feed([bytes])
        } catch (error) {
          assert.ok(error instanceof HttpError, `threw ${error}`)
        }
      }),
      { seed: SEED, numRuns: 3000 },
    )
  })

  // A whole field line takes the parser's one-pass fast path; a line that arrives a byte at a time never
  // does. Both must come to the same answer (the status: which check names the fault first may differ, as
  // a byte at a time a bad method byte is refused before the line's end is seen), valid or mutated.
  test('mutated requests parse the same whole and a byte at a time (fast path and careful path agree)', () => {
    const specials = [0, 9, 10, 13, 32, 58, 127, 255]
    const outcome = (pieces: Buffer[]) => {
      try {
        const result = feed(pieces)
        return { status: result.error?.status, requests: result.requests.map((parsed) => [parsed.method, parsed.url, parsed.headers]) }
      } catch (error) {
        return { status: (error as HttpError).status, requests: [] }
      }
    }
    fc.assert(
      fc.property(request, fc.array(fc.tuple(fc.nat(), fc.constantFrom(...specials)), { maxLength: 4 }), (one, edits) => {
        const bytes = Buffer.from(one.bytes)
        for (const [at, byte] of edits) bytes[at % bytes.length] = byte
        const byteAtATime = Array.from(bytes, (_, i) => bytes.subarray(i, i + 1))
        assert.deepEqual(outcome([bytes]), outcome(byteAtATime))
      }),
      { seed: SEED, numRuns: 2000 },
    )
  })
})

describe('server properties', () => {
  test('random bytes get an answer or a close, never a crash or a hang, and the server keeps serving', async () => {
    await withServer({ limits: { headersTimeoutMs: 500, idleTimeoutMs: 500 }, handler: (_request, response) => response.send('ok') }, async (server) => {
      await fc.assert(
        fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 200 }), async (bytes) => {
          const client = await RawClient.open(server.port)
          client.send(Buffer.from(bytes))
          client.socket.end()
          await client.waitForClose()
          client.close()
        }),
        { seed: SEED, numRuns: 60 },
      )
      const { replies, client } = await exchange(server.port, 'GET / HTTP/1.1\r\nHost: a\r\n\r\n')
      assert.equal(replies[0]!.body.toString(), 'ok')
      client.close()
    })
  })

  test('random pipelined sequences are answered in order', async () => {
    await withServer({
      handler: async (request, response) => {
        const delay = Number(new URLSearchParams(request.query).get('delay'))
        if (delay > 0) await sleep(delay)
        response.send(request.path)
      },
    }, async (server) => {
      await fc.assert(
        fc.asyncProperty(fc.array(fc.integer({ min: 0, max: 8 }), { minLength: 1, maxLength: 12 }), fc.integer({ min: 1, max: 64 }), async (delays, pieceBytes) => {
          const requests = delays.map((delay, i) => `GET /r${i}?delay=${delay} HTTP/1.1\r\nHost: a\r\n\r\n`).join('')
          const client = await RawClient.open(server.port)
          await client.sendInPieces(requests, pieceBytes, 0)
          const replies = await client.replies(delays.length)
          assert.deepEqual(replies.map((reply) => reply.body.toString()), delays.map((_, i) => `/r${i}`))
          client.close()
        }),
        { seed: SEED, numRuns: 25 },
      )
    })
  })
})
