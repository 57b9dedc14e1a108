import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Socket } from 'node:net'
import { after, describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Request, Response } from '../../src/index.ts'
import { loadLibc } from '../../src/ffi/libc.ts'
import { defaultBackend } from '../../src/tcp/backends.ts'
import { assertNoOpenHandles, exchange, RawClient, withServer } from '../helpers/raw-client.ts'

after(assertNoOpenHandles)

const GET = 'GET / HTTP/1.1\r\nHost: a\r\n\r\n'
const hello = (_request: Request, response: Response) => response.send('Hello, World!')

describe('HTTP server basics', () => {
  test('answers GET with status, Server, Date, Content-Type and Content-Length', async () => {
    await withServer({ handler: hello }, async (server) => {
      const { replies, client } = await exchange(server.port, GET)
      const [reply] = replies
      assert.equal(reply!.status, 200)
      assert.equal(reply!.body.toString(), 'Hello, World!')
      assert.equal(reply!.headers.get('content-length'), '13')
      assert.equal(reply!.headers.get('content-type'), 'text/plain; charset=utf-8')
      assert.equal(reply!.headers.get('server'), 'wirespeed')
      assert.match(reply!.headers.get('date')!, /^\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/)
      assert.equal(reply!.headers.has('connection'), false)
      client.close()
    })
  })

  test('keeps HTTP/1.1 connections alive across requests', async () => {
    await withServer({ handler: (request, response) => response.send(request.url) }, async (server) => {
      const client = await RawClient.open(server.port)
      client.send('GET /one HTTP/1.1\r\nHost: a\r\n\r\n')
      await client.replies(1)
      client.send('GET /two HTTP/1.1\r\nHost: a\r\n\r\n')
      const replies = await client.replies(2)
      assert.deepEqual(replies.map((reply) => reply.body.toString()), ['/one', '/two'])
      assert.equal(client.closed, false)
      client.close()
    })
  })

  test('closes HTTP/1.0 connections unless keep-alive is asked for', async () => {
    await withServer({ handler: hello }, async (server) => {
      const plain = await exchange(server.port, 'GET / HTTP/1.0\r\n\r\n')
      assert.equal(plain.replies[0]!.headers.get('connection'), 'close')
      await plain.client.waitForClose()
      const kept = await exchange(server.port, 'GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n')
      assert.equal(kept.replies[0]!.headers.get('connection'), 'keep-alive')
      kept.client.send('GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n')
      assert.equal((await kept.client.replies(2)).length, 2)
      kept.client.close()
    })
  })

  test('closes after Connection: close and reads nothing after it (RFC 9112 §9.6)', async () => {
    let handled = 0
    await withServer({ handler: (request, response) => (handled++, response.send(request.url)) }, async (server) => {
      const { replies, client } = await exchange(server.port, 'GET /a HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\n\r\n')
      await client.waitForClose()
      assert.equal(replies[0]!.headers.get('connection'), 'close')
      assert.equal(handled, 1)
    })
  })

  test('answers pipelined requests in order when async handlers finish out of order', async () => {
    const delays: Record<string, number> = { '/1': 60, '/2': 0, '/3': 30, '/4': 0 }
    await withServer({
      handler: async (request, response) => {
        await sleep(delays[request.url]!)
        response.send(request.url)
      },
    }, async (server) => {
      const request = Object.keys(delays).map((url) => `GET ${url} HTTP/1.1\r\nHost: a\r\n\r\n`).join('')
      const { replies, client } = await exchange(server.port, request, 4)
      assert.deepEqual(replies.map((reply) => reply.body.toString()), ['/1', '/2', '/3', '/4'])
      client.close()
    })
  })

  test('sends the replies of one read in one socket write', async () => {
    await withServer({ handler: hello }, async (server) => {
      const writes = await countServerWrites(server.port)
      try {
        const { replies, client } = await exchange(server.port, GET.repeat(16), 16)
        assert.equal(replies.length, 16)
        assert.equal(writes.count, 1)
        client.close()
      } finally {
        writes.restore()
      }
    })
  })

  test('each of many pipelined requests keeps its own header fields while its handler waits', async () => {
    // 80 requests of 5 fields pass the parser's field store (256 slots) more than once before any reply.
    const handler = async (request: Request, response: Response) => {
      await sleep(5)
      response.send(`${request.header('x-n')} ${request.header('X-Other')} ${request.headers().length} ${request.header('host')}`)
    }
    await withServer({ handler }, async (server) => {
      const count = 80
      let requests = ''
      for (let n = 0; n < count; n++) {
        requests += `GET /${n} HTTP/1.1\r\nHost: h${n}\r\nX-N: ${n}\r\nAccept: */*\r\nX-Other: o${n}\r\nX-Pad: ${'p'.repeat(n)}\r\n\r\n`
      }
      const { replies, client } = await exchange(server.port, requests, count)
      assert.deepEqual(replies.map((reply) => reply.body.toString()), Array.from({ length: count }, (_, n) => `${n} o${n} 5 h${n}`))
      client.close()
    })
  })

  test('answers HEAD with the headers of GET and no body', async () => {
    await withServer({ handler: hello }, async (server) => {
      const client = await RawClient.open(server.port)
      client.send('HEAD / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n')
      await client.waitFor(() => client.received.toString().includes('Hello, World!'))
      const text = client.received.toString()
      assert.equal(text.split('Content-Length: 13').length, 3)
      assert.equal(text.split('Hello, World!').length, 2)
      client.close()
    })
  })

  test('reads Content-Length and chunked bodies split at every byte', async () => {
    const echo = async (request: Request, response: Response) => response.send(await request.body())
    await withServer({ handler: echo }, async (server) => {
      const body = 'The quick brown fox jumps over the lazy dog'
      const messages = [
        `POST / HTTP/1.1\r\nHost: a\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
        `POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n4;ext=1\r\nThe \r\n${(body.length - 4).toString(16)}\r\n${body.slice(4)}\r\n0\r\nTrailer: x\r\n\r\n`,
      ]
      for (const message of messages) {
        for (const size of [1, 2, 3, 7, 64]) {
          const client = await RawClient.open(server.port)
          await client.sendInPieces(message + message, size, 0)
          const replies = await client.replies(2)
          assert.deepEqual(replies.map((reply) => reply.body.toString()), [body, body], `pieces of ${size}`)
          client.close()
        }
      }
    })
  })

  test('skips a body the handler never reads and answers the next request on the connection', async () => {
    await withServer({ handler: (request, response) => response.send(request.url) }, async (server) => {
      const client = await RawClient.open(server.port)
      client.send('POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n')
      await client.replies(1)
      client.send('hello')
      client.send('POST /b HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nGET /c HTTP/1.1\r\nHost: a\r\n\r\n')
      const replies = await client.replies(3)
      assert.deepEqual(replies.map((reply) => reply.body.toString()), ['/a', '/b', '/c'])
      client.close()
    })
  })

  test('sends non-ASCII strings as UTF-8 with their byte length', async () => {
    await withServer({ handler: (_request, response) => response.send('héllo ✓ 🚀') }, async (server) => {
      const { replies, client } = await exchange(server.port, GET)
      assert.equal(replies[0]!.headers.get('content-length'), String(Buffer.byteLength('héllo ✓ 🚀')))
      assert.equal(replies[0]!.body.toString('utf8'), 'héllo ✓ 🚀')
      client.close()
    })
  })

  test('sends 100 Continue when the handler asks for the body', async () => {
    await withServer({ handler: async (request, response) => response.send(`got ${await request.text()}`) }, async (server) => {
      const client = await RawClient.open(server.port)
      client.send('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n')
      await client.waitFor(() => client.received.toString().includes('\r\n\r\n'))
      assert.equal(client.received.toString(), 'HTTP/1.1 100 Continue\r\n\r\n')
      client.send('hello')
      const [reply] = await client.replies(1)
      assert.equal(reply!.body.toString(), 'got hello')
      client.close()
    })
  })

  test('closes after a final reply to 100-continue when the body was never asked for', async () => {
    await withServer({ handler: (_request, response) => response.status(403).send('no') }, async (server) => {
      const { replies, client } = await exchange(server.port, 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n')
      assert.equal(replies[0]!.status, 403)
      assert.equal(replies[0]!.headers.get('connection'), 'close')
      assert.equal(client.received.toString().includes('100 Continue'), false)
      await client.waitForClose()
    })
  })

  test('streams a body with chunked coding on HTTP/1.1', async () => {
    await withServer({
      handler: async (_request, response) => {
        response.setHeader('Content-Type', 'text/plain')
        response.write('one,')
        await sleep(5)
        response.write(Buffer.from('two,'))
        response.end('three')
      },
    }, async (server) => {
      const { replies, client } = await exchange(server.port, GET)
      assert.equal(replies[0]!.headers.get('transfer-encoding'), 'chunked')
      assert.equal(replies[0]!.body.toString(), 'one,two,three')
      client.close()
    })
  })

  test('streams a close-delimited body on HTTP/1.0', async () => {
    await withServer({ handler: (_request, response) => (response.write('a'), response.end('b')) }, async (server) => {
      const { client } = await exchange(server.port, 'GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n')
      await client.waitForClose()
      const text = client.received.toString()
      assert.match(text, /\r\nConnection: close\r\n/)
      assert.equal(text.endsWith('\r\n\r\nab'), true)
    })
  })

  test('streams with a set Content-Length and no chunked coding', async () => {
    await withServer({ handler: (_request, response) => (response.setHeader('Content-Length', 2), response.write('a'), response.end('b')) }, async (server) => {
      const { replies, client } = await exchange(server.port, GET)
      assert.equal(replies[0]!.headers.has('transfer-encoding'), false)
      assert.equal(replies[0]!.body.toString(), 'ab')
      client.close()
    })
  })

  test('a streamed body shorter than its Content-Length closes the connection; a longer one is refused', async () => {
    let refused: unknown
    await withServer({
      handler: (request, response) => {
        response.setHeader('Content-Length', 5).write('abc')
        if (request.url === '/long') {
          try {
            response.write('defg')
          } catch (error) {
            refused = error
          }
        }
        response.end()
      },
    }, async (server) => {
      const { client } = await exchange(server.port, 'GET /short HTTP/1.1\r\nHost: a\r\n\r\n', 0)
      await client.waitForClose()
      assert.match(client.received.toString(), /Content-Length: 5\r\n\r\nabc$/)
      const long = await exchange(server.port, 'GET /long HTTP/1.1\r\nHost: a\r\n\r\n', 0)
      await long.client.waitForClose()
      assert.match(String(refused), /Body exceeds the Content-Length set \(5 bytes\): 4 more bytes with 2 left/)
    })
  })

  test('understands absolute-form targets: the same path, query and url as origin-form, the authority as Host (RFC 9112 §3.2.2)', async () => {
    const seen: string[] = []
    await withServer({ handler: (request, response) => {
      seen.push(JSON.stringify([request.url, request.path, request.query, request.header('host')]))
      response.send('ok')
    } }, async (server) => {
      const { replies } = await exchange(server.port, [
        'GET http://127.0.0.1:5201/json?a=1 HTTP/1.1\r\nHost: other.example\r\n\r\n',
        'GET HTTP://example.com HTTP/1.1\r\nHost: example.com\r\n\r\n',
        'GET http://example.com?q HTTP/1.1\r\nHost: example.com\r\n\r\n',
        'GET http://[::1]:80/a/b HTTP/1.1\r\nHost: x\r\n\r\n',
        'GET /json?a=1 HTTP/1.1\r\nHost: 127.0.0.1:5201\r\n\r\n',
      ].join(''), 5)
      assert.deepEqual(replies.map((reply) => reply.status), [200, 200, 200, 200, 200])
      assert.deepEqual(seen.map((one) => JSON.parse(one)), [
        ['/json?a=1', '/json', 'a=1', '127.0.0.1:5201'],
        ['/', '/', '', 'example.com'],
        ['/?q', '/', 'q', 'example.com'],
        ['/a/b', '/a/b', '', '[::1]:80'],
        ['/json?a=1', '/json', 'a=1', '127.0.0.1:5201'],
      ])
    })
  })

  test('serves static files to absolute-form targets (a client going through a proxy setting)', async () => {
    const root = await mkdtemp(join(tmpdir(), 'wirespeed-absolute-'))
    try {
      await writeFile(join(root, 'a.txt'), 'file a')
      await withServer({ static: root }, async (server) => {
        const { replies } = await exchange(server.port, `GET http://127.0.0.1:${server.port}/a.txt HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`)
        assert.equal(replies[0]!.status, 200)
        assert.equal(replies[0]!.body.toString(), 'file a')
      })
    } finally {
      await rm(root, { recursive: true, force: true })
    }
  })

  test('sends JSON, custom headers and statuses', async () => {
    await withServer({ handler: (request, response) => response.status(201).setHeader('X-Id', ['1', '2']).json({ path: request.path, query: request.query, agent: request.header('USER-agent') }) }, async (server) => {
      const { replies, client } = await exchange(server.port, 'GET /p?q=1 HTTP/1.1\r\nHost: a\r\nUser-Agent: t\r\n\r\n')
      assert.equal(replies[0]!.status, 201)
      assert.equal(replies[0]!.headers.get('content-type'), 'application/json; charset=utf-8')
      assert.equal(replies[0]!.headers.get('x-id'), '1, 2')
      assert.deepEqual(JSON.parse(replies[0]!.body.toString()), { path: '/p', query: 'q=1', agent: 't' })
      client.close()
    })
  })

  test('json() sends its Content-Type unless the handler set one, with or without other headers', async () => {
    await withServer({
      handler: (request, response) => {
        if (request.path === '/problem') response.status(404).setHeader('Content-Type', 'application/problem+json')
        if (request.path === '/other') response.setHeader('X-Other', 'yes')
        response.json({ path: request.path })
      },
    }, async (server) => {
      const requests = ['/plain', '/problem', '/other', '/plain'].map((path) => `GET ${path} HTTP/1.1\r\nHost: a\r\n\r\n`).join('')
      const { replies, client } = await exchange(server.port, requests, 4)
      client.close()
      assert.deepEqual(replies.map((reply) => [reply.status, reply.headers.get('content-type'), reply.headers.get('x-other'), JSON.parse(reply.body.toString()).path]), [
        [200, 'application/json; charset=utf-8', undefined, '/plain'],
        [404, 'application/problem+json', undefined, '/problem'],
        [200, 'application/json; charset=utf-8', 'yes', '/other'],
        [200, 'application/json; charset=utf-8', undefined, '/plain'],
      ])
    })
  })

  test('answers 500 when a handler throws or rejects, and keeps serving', async () => {
    const errors: unknown[] = []
    await withServer({
      onError: (error) => errors.push(error),
      handler: async (request, response) => {
        if (request.url === '/throw') throw new Error('boom')
        if (request.url === '/reject') return Promise.reject(new Error('late boom'))
        response.send('fine')
      },
    }, async (server) => {
      for (const url of ['/throw', '/reject']) {
        const { replies, client } = await exchange(server.port, `GET ${url} HTTP/1.1\r\nHost: a\r\n\r\n`)
        assert.equal(replies[0]!.status, 500)
        assert.equal(replies[0]!.body.toString().includes('boom'), false)
        client.close()
      }
      const { replies, client } = await exchange(server.port, GET)
      assert.equal(replies[0]!.body.toString(), 'fine')
      assert.equal(errors.length, 2)
      client.close()
    })
  })

  test('refuses invalid header names and values set by a handler', async () => {
    await withServer({
      handler: (_request, response) => {
        assert.throws(() => response.setHeader('Bad Name', 'x'), TypeError)
        assert.throws(() => response.setHeader('X', 'a\r\nInjected: 1'), TypeError)
        assert.throws(() => response.status(99), RangeError)
        assert.throws(() => response.setHeader('Content-Length', 'ten'), /Invalid Content-Length "ten": expected one non-negative integer/)
        response.send('ok')
      },
    }, async (server) => {
      const { replies, client } = await exchange(server.port, GET)
      assert.equal(replies[0]!.status, 200)
      client.close()
    })
  })

  test('listens on ::1 and resolves localhost', async () => {
    const { serve } = await import('../../src/index.ts')
    for (const host of ['::1', 'localhost']) {
      const server = await serve({ host, port: 0, handler: hello })
      try {
        const client = await RawClient.open(server.port, server.host)
        client.send(GET)
        assert.equal((await client.replies(1))[0]!.status, 200)
        client.close()
      } finally {
        await server.close()
      }
    }
  })
})

/**
 * Counts the server's socket writes to `port` (observes; changes nothing): node:net socket writes on the
 * node backend, send(2) calls on the epoll backend, from a Buffer or from an address (the test's own client
 * is a node:net socket, so every send(2) is the server's).
 */
async function countServerWrites(port: number): Promise<{ count: number; restore(): void }> {
  const original = Socket.prototype.write
  const libc = (await defaultBackend()) === 'epoll' ? await loadLibc() : undefined
  const originalSend = libc?.send
  const originalSendAt = libc?.sendAt
  const counter = {
    count: 0,
    restore: () => {
      Socket.prototype.write = original
      if (libc !== undefined) {
        libc.send = originalSend!
        libc.sendAt = originalSendAt!
      }
    },
  }
  Socket.prototype.write = function (this: Socket, ...args: unknown[]) {
    if (this.localPort === port) counter.count++
    return (original as (...args: unknown[]) => boolean).apply(this, args)
  } as typeof original
  if (libc !== undefined) {
    libc.send = (...args: unknown[]) => {
      counter.count++
      return originalSend!(...args)
    }
    libc.sendAt = (...args: unknown[]) => {
      counter.count++
      return originalSendAt!(...args)
    }
  }
  return counter
}
