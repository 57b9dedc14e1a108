/*
 * serve({ fetch }): the web Request a handler gets (a real `instanceof Request`, lazy, with every reader,
 * multipart formData, a body stream, clone(), and a signal that aborts when the client goes away), and
 * every kind of Response it may return (string, bytes, null, Blob, URLSearchParams, streams chunked or by
 * Content-Length, several Set-Cookie, status text, HEAD), errors through onError, and requestIP().
 */
import assert from 'node:assert/strict'
import { connect } from 'node:net'
import { after, test } from 'node:test'
import { serve, type FetchHandler, type Server } from '../../src/index.ts'
import { assertNoOpenHandles, exchange, parseReplies, RawClient } from '../helpers/raw-client.ts'

after(assertNoOpenHandles)

/**
 * What this runtime's own classes make of a type, read before any server installs the light Response: Bun's
 * File adds `;charset=utf-8` to a text type (the part is sent and parsed back that way), and Bun's
 * Response.json() says `application/json;charset=utf-8`. The server passes either on as it is given.
 */
const TEXT_FILE_TYPE = new File([], 'notes.txt', { type: 'text/plain' }).type
const JSON_TYPE = Response.json(null).headers.get('content-type')

async function withFetch(fetch: FetchHandler, body: (server: Server) => Promise<void>, extra: { onError?: (error: unknown) => void; lightResponse?: boolean } = {}): Promise<void> {
  const server = await serve({ host: '127.0.0.1', port: 0, fetch, ...extra })
  try {
    await body(server)
  } finally {
    await server.close()
  }
}

test('the handler gets a real Request: method, url, headers and the body readers', async () => {
  const seen: unknown[] = []
  await withFetch(async (request) => {
    seen.push(request instanceof Request, request.method, request.url, request.headers.get('x-thing'), request.headers.get('host'), await request.json(), request.bodyUsed)
    return new Response('ok')
  }, async (server) => {
    const reply = await fetch(`${server.url}/path?q=1`, { method: 'POST', headers: { 'X-Thing': 'yes', 'Content-Type': 'application/json' }, body: '{"a":[1,2]}' })
    assert.equal(await reply.text(), 'ok')
    assert.deepEqual(seen, [true, 'POST', `${server.url}/path?q=1`, 'yes', server.url.slice(7), { a: [1, 2] }, true])
  })
})

test('text(), arrayBuffer(), bytes(), a body stream, clone() and formData() with multipart all read the body', async () => {
  const results: Record<string, unknown> = {}
  await withFetch(async (request) => {
    const kind = new URL(request.url).pathname.slice(1)
    if (kind === 'text') results.text = await request.text()
    if (kind === 'arrayBuffer') results.arrayBuffer = Buffer.from(await request.arrayBuffer()).toString()
    if (kind === 'bytes') results.bytes = Buffer.from(await request.bytes()).toString()
    if (kind === 'stream') {
      const parts: Uint8Array[] = []
      for await (const part of request.body!) parts.push(part)
      results.stream = Buffer.concat(parts).toString()
    }
    if (kind === 'clone') {
      const copy = request.clone()
      results.clone = [await copy.text(), await request.text()]
    }
    if (kind === 'form') {
      const form = await request.formData()
      const file = form.get('upload') as File
      results.form = [form.get('name'), file.name, file.type, await file.text()]
    }
    if (kind === 'twice') {
      await request.text()
      results.twice = await request.text().then(() => 'read twice', (error: Error) => error.name)
    }
    return new Response(null, { status: 204 })
  }, async (server) => {
    for (const kind of ['text', 'arrayBuffer', 'bytes', 'stream', 'clone', 'twice']) {
      assert.equal((await fetch(`${server.url}/${kind}`, { method: 'POST', body: 'héllo' })).status, 204, kind)
    }
    const form = new FormData()
    form.set('name', 'ann')
    form.set('upload', new File(['file body\n'], 'notes.txt', { type: 'text/plain' }))
    assert.equal((await fetch(`${server.url}/form`, { method: 'POST', body: form })).status, 204)
  })
  assert.deepEqual(results, {
    text: 'héllo', arrayBuffer: 'héllo', bytes: 'héllo', stream: 'héllo', clone: ['héllo', 'héllo'], twice: 'TypeError',
    form: ['ann', 'notes.txt', TEXT_FILE_TYPE, 'file body\n'],
  })
})

test('request.signal aborts when the client goes away before the reply', async () => {
  let aborted: Promise<string> | undefined
  await withFetch((request) => {
    aborted = new Promise((resolve) => request.signal.addEventListener('abort', () => resolve((request.signal.reason as Error).name)))
    // Answers only once aborted, as a handler whose own fetch takes the signal does: close() then has
    // nothing to wait for (a handler that never settles holds it for shutdownTimeoutMs, 10 s).
    return new Promise((resolve) => request.signal.addEventListener('abort', () => resolve(new Response('too late'))))
  }, async (server) => {
    const socket = connect({ port: server.port, host: '127.0.0.1' })
    await new Promise((resolve) => socket.once('connect', resolve))
    socket.write('GET /wait HTTP/1.1\r\nHost: x\r\n\r\n')
    while (aborted === undefined) await new Promise((resolve) => setTimeout(resolve, 5))
    socket.destroy()
    assert.equal(await aborted, 'AbortError')
  })
})

test('every kind of body is written: string, bytes, null, Blob, URLSearchParams, streams', async () => {
  const streamOf = (parts: string[]) => new ReadableStream<Uint8Array>({
    start(controller) {
      for (const part of parts) controller.enqueue(new TextEncoder().encode(part))
      controller.close()
    },
  })
  const bodies: Record<string, () => Response> = {
    string: () => new Response('héllo wörld'),
    bytes: () => new Response(new Uint8Array([104, 105])),
    none: () => new Response(null),
    blob: () => new Response(new Blob(['blob body'], { type: 'text/x-blob' })),
    params: () => new Response(new URLSearchParams({ a: '1', b: 'x y' })),
    chunked: () => new Response(streamOf(['one ', 'two ', 'three'])),
    sized: () => new Response(streamOf(['12345', '67890']), { headers: { 'Content-Length': '10' } }),
    real: () => Response.json({ real: true }, { status: 202 }),
  }
  await withFetch((request) => bodies[new URL(request.url).pathname.slice(1)]!(), async (server) => {
    const expect: Record<string, [string, string | null, string | null]> = {
      string: ['héllo wörld', 'text/plain;charset=UTF-8', '13'],
      bytes: ['hi', null, '2'],
      none: ['', null, '0'],
      blob: ['blob body', 'text/x-blob', '9'],
      params: ['a=1&b=x+y', 'application/x-www-form-urlencoded;charset=UTF-8', '9'],
      chunked: ['one two three', null, null],
      sized: ['1234567890', null, '10'],
      real: ['{"real":true}', JSON_TYPE, null],
    }
    for (const [kind, [body, type, length]] of Object.entries(expect)) {
      const { replies, client } = await exchange(server.port, `GET /${kind} HTTP/1.1\r\nHost: x\r\n\r\n`)
      client.close()
      const reply = replies[0]!
      assert.equal(reply.body.toString(), body, kind)
      assert.equal(reply.headers.get('content-type') ?? null, type, kind)
      assert.equal(reply.headers.get('content-length') ?? null, length, kind)
      if (length === null) assert.equal(reply.headers.get('transfer-encoding'), 'chunked', kind)
    }
  })
})

test('every Set-Cookie stays its own field line; status text and headers pass; HEAD gets no body', async () => {
  await withFetch(() => {
    const headers = new Headers({ 'X-A': '1' })
    headers.append('Set-Cookie', 'a=1; Path=/')
    headers.append('Set-Cookie', 'b=2; Expires=Wed, 09 Jun 2027 10:18:14 GMT')
    return new Response('body', { status: 299, statusText: 'Fine Thanks', headers })
  }, async (server) => {
    const { replies, client } = await exchange(server.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
    client.close()
    const reply = replies[0]!
    assert.equal(reply.status, 299)
    assert.equal(reply.reason, 'Fine Thanks')
    assert.deepEqual(reply.head.split('\r\n').filter((line) => /^set-cookie:/i.test(line)), ['set-cookie: a=1; Path=/', 'set-cookie: b=2; Expires=Wed, 09 Jun 2027 10:18:14 GMT'])
    const headClient = await RawClient.open(server.port)
    headClient.send('HEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n')
    const both = await headClient.replies(2, 5000, false).catch(() => [])
    headClient.close()
    const text = headClient.received.toString('latin1')
    assert.equal(text.split('HTTP/1.1 299').length, 3, 'the HEAD reply is followed at once by the next reply')
    assert.ok(both.length <= 2)
  })
})

test('a throw, a rejection or a value that is not a Response is 500 through onError, and the server goes on', async () => {
  const errors: string[] = []
  await withFetch((request) => {
    const path = new URL(request.url).pathname
    if (path === '/throw') throw new Error('thrown')
    if (path === '/reject') return Promise.reject(new Error('rejected'))
    if (path === '/nothing') return undefined as never
    return new Response('fine')
  }, async (server) => {
    for (const path of ['/throw', '/reject', '/nothing']) {
      const { replies, client } = await exchange(server.port, `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`)
      client.close()
      assert.equal(replies[0]!.status, 500, path)
    }
    assert.deepEqual(errors.slice(0, 2), ['thrown', 'rejected'])
    assert.match(errors[2]!, /returned undefined: expected a Response/)
    assert.equal(await (await fetch(server.url)).text(), 'fine')
  }, { onError: (error) => errors.push((error as Error).message) })
})

test('server.requestIP() gives the peer, to the handler and on the server', async () => {
  let ip: unknown
  await withFetch((request, server) => {
    ip = server.requestIP(request)
    return new Response(server.url)
  }, async (server) => {
    const reply = await fetch(server.url)
    assert.equal(await reply.text(), server.url)
    assert.deepEqual(Object.keys(ip as object), ['address', 'family', 'port'])
    assert.equal((ip as { address: string }).address, '127.0.0.1')
    assert.equal((ip as { family: string }).family, 'IPv4')
    assert.equal(server.requestIP(new Request('http://x/')), null, 'a Request that did not come from the server')
  })
})

test('the light Response is global only while a fetch server runs, and instanceof holds both ways', async () => {
  const original = globalThis.Response
  await withFetch(() => new Response('x'), async () => {
    assert.notEqual(globalThis.Response, original)
    const light = new Response('light')
    assert.ok(light instanceof original, 'a light Response is a Response')
    assert.ok(new original('real') instanceof Response, 'a real Response is a (light) Response')
    assert.equal(await light.clone().text(), 'light')
    assert.equal(light.headers.get('content-type'), 'text/plain;charset=UTF-8')
    assert.throws(() => new Response('x', { status: 99 }), RangeError)
    // A body with a null-body status: Node's Response throws a TypeError, as the Fetch standard says; Bun's
    // takes it (and the server sends the head only). The light one refuses exactly what the runtime's refuses.
    const outcome = (make: () => unknown) => {
      try {
        make()
        return 'made'
      } catch (error) {
        return (error as Error).constructor.name
      }
    }
    for (const status of [204, 205, 304]) {
      const expected = outcome(() => new original('x', { status }))
      if (process.versions.bun === undefined) assert.equal(expected, 'TypeError', `Node refuses a body with ${status}`)
      assert.equal(outcome(() => new Response('x', { status })), expected, `a body with ${status}`)
    }
  })
  assert.equal(globalThis.Response, original)
  await withFetch(() => new Response('real one'), async (server) => {
    assert.equal(globalThis.Response, original, 'lightResponse: false leaves the global alone')
    assert.equal(await (await fetch(server.url)).text(), 'real one')
  }, { lightResponse: false })
})

test('headers changed on a light Response after it was made are the ones sent', async () => {
  await withFetch(() => {
    const response = new Response('x', { headers: { 'X-Early': '1' } })
    response.headers.set('X-Late', '2')
    response.headers.append('Set-Cookie', 'late=1')
    return response
  }, async (server) => {
    const reply = await fetch(server.url)
    assert.equal(reply.headers.get('x-early'), '1')
    assert.equal(reply.headers.get('x-late'), '2')
    assert.equal(reply.headers.get('set-cookie'), 'late=1')
    assert.equal(reply.headers.get('content-type'), 'text/plain;charset=UTF-8')
  })
})

test('a light Response made real before it is returned (its body or a clone asked for) is sent with its default Content-Type', async () => {
  // Bun's own Response keeps a string body's type out of its headers (Bun.serve adds it while sending), so
  // the light one hands it over itself.
  const made: Record<string, () => Response> = {
    body: () => {
      const response = new Response('made real')
      assert.ok(response.body !== null)
      return response
    },
    clone: () => {
      const response = new Response('made real')
      void response.clone()
      return response
    },
    params: () => {
      const response = new Response(new URLSearchParams({ a: '1' }))
      assert.ok(response.body !== null)
      return response
    },
  }
  await withFetch((request) => made[new URL(request.url).pathname.slice(1)]!(), async (server) => {
    for (const [kind, type, body] of [['body', 'text/plain;charset=UTF-8', 'made real'], ['clone', 'text/plain;charset=UTF-8', 'made real'], ['params', 'application/x-www-form-urlencoded;charset=UTF-8', 'a=1']]) {
      const reply = await fetch(`${server.url}/${kind}`)
      assert.equal(await reply.text(), body, kind)
      assert.equal(reply.headers.get('content-type'), type, kind)
    }
  })
})

const takesBodyWith204 = (() => {
  try {
    return new Response('x', { status: 204 }).status === 204
  } catch {
    return false
  }
})()

test('a body given with 204, 205 or 304 (Bun\'s Response takes one) is not sent: 205 ends at Content-Length: 0', { skip: !takesBodyWith204 && "this runtime's Response refuses a body with 204, 205 and 304, as the Fetch standard says: no such Response reaches the server" }, async () => {
  await withFetch((request) => new Response('xyz', { status: Number(new URL(request.url).pathname.slice(1)) }), async (server) => {
    for (const [status, length] of [[204, undefined], [205, '0'], [304, undefined]] as const) {
      // A second request right behind: its reply must be the next thing on the wire.
      const { replies, client } = await exchange(server.port, `GET /${status} HTTP/1.1\r\nHost: x\r\n\r\nGET /204 HTTP/1.1\r\nHost: x\r\n\r\n`, 2)
      client.close()
      assert.deepEqual(replies.map((reply) => reply.status), [status, 204], `${status}`)
      assert.equal(replies[0]!.headers.get('content-length'), length, `${status}`)
      assert.equal(replies[0]!.headers.get('transfer-encoding'), undefined, `${status}`)
      assert.equal(client.received.toString('latin1').includes('xyz'), false, `${status}`)
    }
  })
})

test('HEAD with a null body (the GET reply without its body, as Hono sends it) claims no false length', async () => {
  await withFetch((request) => new Response(request.method === 'HEAD' ? null : 'twelve bytes', { headers: request.url.endsWith('/sized') ? { 'Content-Length': '12' } : {} }), async (server) => {
    for (const [path, length] of [['/', undefined], ['/sized', '12']] as const) {
      const client = await RawClient.open(server.port)
      client.send(`HEAD ${path} HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n`)
      // The GET reply's body is the last byte of both replies: wait for it (not for a timeout).
      await client.waitFor(() => client.received.includes('twelve bytes'), 10_000, 'the reply to HEAD, then the reply to GET')
      client.close()
      const text = client.received.toString('latin1')
      const headEnd = text.indexOf('\r\n\r\n')
      assert.equal(/\r\ncontent-length: (\d+)/i.exec(text.slice(0, headEnd))?.[1], length, path)
      assert.ok(text.slice(headEnd).startsWith('\r\n\r\nHTTP/1.1 200 OK'), 'the next reply follows the head at once')
      const after = parseReplies(client.received.subarray(headEnd + 4))
      assert.deepEqual(after.map((reply) => [reply.status, reply.body.toString()]), [[200, 'twelve bytes']], 'the GET reply whole, and nothing more')
    }
  })
})

test('replies in a row that share parts of their head each get their own: same-length bodies, alternating fields, records and pairs', async () => {
  // The server reuses a head it made for the previous reply when the status, Date, fields and length are the
  // same, and the line it made for the previous field: every reply here differs from the one before in one of them.
  const answers: (() => Response)[] = [
    () => new Response('{"id":"1"}', { headers: { 'Content-Type': 'application/json' } }),
    () => new Response('{"id":"2"}', { headers: { 'Content-Type': 'application/json' } }),
    () => new Response('{"id":"3"}', { headers: { 'Content-Type': 'text/x-other' } }),
    () => new Response('{"id":"4"}', { headers: { 'Content-Type': 'application/json' }, status: 201 }),
    () => new Response('{"id":"55"}', { headers: { 'Content-Type': 'application/json' } }),
    () => new Response('{"id":"6"}', { headers: [['X-A', '1'], ['Content-Type', 'application/json']] }),
    () => new Response('{"id":"7"}', { headers: [['X-A', ' 2 '], ['Content-Type', 'application/json']] }),
    () => new Response('{"id":"8"}', { headers: { 'X-A': '2' } }),
    () => new Response('{"id":"9"}'),
  ]
  await withFetch((request) => answers[Number(new URL(request.url).pathname.slice(1))]!(), async (server) => {
    const requests = answers.map((_, index) => `GET /${index} HTTP/1.1\r\nHost: x\r\n\r\n`).join('')
    const { replies, client } = await exchange(server.port, requests, answers.length)
    client.close()
    const seen = replies.map((reply) => [reply.status, reply.headers.get('content-type'), reply.headers.get('x-a'), reply.headers.get('content-length'), reply.body.toString()])
    assert.deepEqual(seen, [
      [200, 'application/json', undefined, '10', '{"id":"1"}'],
      [200, 'application/json', undefined, '10', '{"id":"2"}'],
      [200, 'text/x-other', undefined, '10', '{"id":"3"}'],
      [201, 'application/json', undefined, '10', '{"id":"4"}'],
      [200, 'application/json', undefined, '11', '{"id":"55"}'],
      [200, 'application/json', '1', '10', '{"id":"6"}'],
      [200, 'application/json', '2', '10', '{"id":"7"}'],
      [200, 'text/plain;charset=UTF-8', '2', '10', '{"id":"8"}'],
      [200, 'text/plain;charset=UTF-8', undefined, '10', '{"id":"9"}'],
    ])
  })
})
