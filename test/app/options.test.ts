/*
 * OPTIONS over real sockets (RFC 9110 §9.3.7, RFC 9112 §3.2.4): `OPTIONS *` answered by the server with
 * the methods it serves anywhere, whatever it is made of; OPTIONS on a path reaching what serves the path
 * (a CORS preflight reaches the app untouched), with `Allow` added to a successful reply that names none;
 * static files answering OPTIONS themselves.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { serve, type Handler } from '../../src/index.ts'
import { assertNoOpenHandles, exchange, RawClient, withServer, type Reply } from '../helpers/raw-client.ts'

const ALL = 'GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH, TRACE'

let folder: string
before(async () => {
  folder = await mkdtemp(join(tmpdir(), 'wirespeed-options-'))
  await writeFile(join(folder, 'style.css'), 'body{}')
})
after(async () => {
  await rm(folder, { recursive: true, force: true })
  await assertNoOpenHandles()
})

const ask = (target: string, method = 'OPTIONS', extra = '') => `${method} ${target} HTTP/1.1\r\nHost: x\r\n${extra}\r\n`

async function one(port: number, request: string): Promise<Reply> {
  const { replies, client } = await exchange(port, request)
  client.close()
  return replies[0]!
}

/** How many Allow field lines the head has (the parsed headers keep one per name). */
function allowLines(reply: Reply): number {
  return reply.head.match(/^allow:/gim)?.length ?? 0
}

test('OPTIONS * is answered by the server: 204 with every method a handler or fetch handler is given, without calling it', async () => {
  let called = 0
  const handler: Handler = (_request, response) => (called++, response.send('app'))
  for (const options of [{ handler }, { fetch: () => (called++, new Response('app')) }]) {
    await withServer(options, async (server) => {
      const reply = await one(server.port, ask('*'))
      assert.equal(reply.status, 204)
      assert.equal(reply.headers.get('allow'), ALL)
      assert.equal(reply.headers.has('content-length'), false, 'a 204 has no Content-Length (RFC 9110 §8.6)')
      assert.equal(reply.body.length, 0)
      // HTTP/1.0, and then the connection still serves.
      const client = await RawClient.open(server.port)
      client.send(`OPTIONS * HTTP/1.0\r\nConnection: keep-alive\r\n\r\n${ask('/next', 'GET')}`)
      const [star, next] = await client.replies(2)
      client.close()
      assert.equal(star!.status, 204)
      assert.equal(next!.body.toString(), 'app')
    })
  }
  assert.equal(called, 2, 'only the GETs reached the app')
})

test('OPTIONS * with a body: the body is read past, never taken for a request', async () => {
  const seen: string[] = []
  await withServer({ handler: (request, response) => (seen.push(request.url), response.send(request.url)) }, async (server) => {
    const hidden = 'GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n'
    const client = await RawClient.open(server.port)
    client.send(`OPTIONS * HTTP/1.1\r\nHost: x\r\nContent-Length: ${hidden.length}\r\n\r\n${hidden}${ask('/next', 'GET')}`)
    const [star, next] = await client.replies(2)
    client.close()
    assert.equal(star!.status, 204)
    assert.equal(next!.body.toString(), '/next')
  })
  assert.deepEqual(seen, ['/next'])
})

test('OPTIONS * lists what routes and static files serve when there is no handler', async () => {
  const noop: Handler = (_request, response) => response.send('r')
  await withServer({ routes: { 'GET /a': noop, '/b': { POST: noop, DELETE: noop } } }, async (server) => {
    assert.equal((await one(server.port, ask('*'))).headers.get('allow'), 'GET, HEAD, POST, DELETE, OPTIONS')
  })
  await withServer({ routes: { 'PUT /a': noop } }, async (server) => {
    assert.equal((await one(server.port, ask('*'))).headers.get('allow'), 'PUT, OPTIONS')
  })
  await withServer({ routes: { '/any': noop } }, async (server) => {
    assert.equal((await one(server.port, ask('*'))).headers.get('allow'), ALL, 'a route for every method')
  })
  await withServer({ static: folder }, async (server) => {
    assert.equal((await one(server.port, ask('*'))).headers.get('allow'), 'GET, HEAD, OPTIONS')
  })
  await withServer({ static: folder, routes: { 'PATCH /p': noop } }, async (server) => {
    assert.equal((await one(server.port, ask('*'))).headers.get('allow'), 'GET, HEAD, OPTIONS, PATCH')
  })
})

test('a handler that answers OPTIONS with a success and no Allow gets Allow with every method; its own Allow wins; a failure gets none', async () => {
  const handler: Handler = (request, response) => {
    if (request.path === '/own') return response.setHeader('Allow', 'GET, OPTIONS').send('mine')
    if (request.path === '/missing') return response.status(404).send('no')
    if (request.path === '/stream') {
      response.write('a')
      return response.end('b')
    }
    if (request.path === '/empty') return response.status(204).send()
    response.send('ok')
  }
  await withServer({ handler }, async (server) => {
    const plain = await one(server.port, ask('/'))
    assert.equal(plain.status, 200)
    assert.equal(plain.body.toString(), 'ok')
    assert.equal(plain.headers.get('allow'), ALL)
    const own = await one(server.port, ask('/own'))
    assert.equal(own.headers.get('allow'), 'GET, OPTIONS')
    assert.equal(allowLines(own), 1)
    const missing = await one(server.port, ask('/missing'))
    assert.equal(missing.status, 404)
    assert.equal(missing.headers.has('allow'), false)
    const stream = await one(server.port, ask('/stream'))
    assert.equal(stream.body.toString(), 'ab')
    assert.equal(stream.headers.get('allow'), ALL)
    const empty = await one(server.port, ask('/empty'))
    assert.equal(empty.status, 204)
    assert.equal(empty.headers.get('allow'), ALL)
    // Only OPTIONS gets it, and only its own reply: pipelined GET and OPTIONS on one connection.
    const client = await RawClient.open(server.port)
    client.send(`${ask('/', 'GET')}${ask('/')}${ask('/', 'GET')}`)
    const replies = await client.replies(3)
    client.close()
    assert.deepEqual(replies.map((reply) => reply.headers.get('allow') ?? null), [null, ALL, null])
  })
})

test('a fetch handler: Allow added to a successful OPTIONS Response without one, its own kept once; a CORS preflight untouched', async () => {
  const seen: string[] = []
  const fetch = (request: Request) => {
    const path = new URL(request.url).pathname
    seen.push(`${request.method} ${path}`)
    if (path === '/own') return new Response('mine', { headers: { allow: 'GET' } })
    if (path === '/own-headers') return new Response(null, { status: 204, headers: new Headers({ Allow: 'GET, HEAD' }) })
    if (request.headers.has('access-control-request-method')) return new Response(null, { status: 204, headers: { 'Access-Control-Allow-Methods': 'GET, PUT' } })
    return new Response('ok')
  }
  await withServer({ fetch }, async (server) => {
    assert.equal((await one(server.port, ask('/'))).headers.get('allow'), ALL)
    const own = await one(server.port, ask('/own'))
    assert.equal(own.headers.get('allow'), 'GET')
    assert.equal(allowLines(own), 1)
    const ownHeaders = await one(server.port, ask('/own-headers'))
    assert.equal(ownHeaders.headers.get('allow'), 'GET, HEAD')
    assert.equal(allowLines(ownHeaders), 1)
    const preflight = await one(server.port, ask('/', 'OPTIONS', 'Origin: https://app.example\r\nAccess-Control-Request-Method: PUT\r\n'))
    assert.equal(preflight.status, 204)
    assert.equal(preflight.headers.get('access-control-allow-methods'), 'GET, PUT')
    assert.equal(preflight.headers.has('allow'), false, 'the preflight is the app\'s CORS answer')
    assert.equal((await one(server.port, ask('/', 'GET'))).headers.has('allow'), false)
  })
  assert.deepEqual(seen, ['OPTIONS /', 'OPTIONS /own', 'OPTIONS /own-headers', 'OPTIONS /', 'GET /'])
})

test('routes: a route that answers OPTIONS itself gets its path\'s methods as Allow unless it sets its own', async () => {
  await withServer({
    routes: {
      '/any': (_request, response) => response.send('any'),
      'GET /item': (_request, response) => response.send('item'),
      'OPTIONS /item': (_request, response) => response.send('item options'),
      'OPTIONS /web': () => new Response('web options'),
      'POST /web': () => new Response('posted'),
      'OPTIONS /own': (_request, response) => response.setHeader('Allow', 'OPTIONS').send('own'),
    },
    handler: (_request, response) => response.send('fallback'),
  }, async (server) => {
    const any = await one(server.port, ask('/any'))
    assert.equal(any.body.toString(), 'any')
    assert.equal(any.headers.get('allow'), ALL)
    const item = await one(server.port, ask('/item'))
    assert.equal(item.body.toString(), 'item options')
    assert.equal(item.headers.get('allow'), 'GET, HEAD, OPTIONS')
    const web = await one(server.port, ask('/web'))
    assert.equal(web.body.toString(), 'web options')
    assert.equal(web.headers.get('allow'), 'POST, OPTIONS')
    const own = await one(server.port, ask('/own'))
    assert.equal(own.headers.get('allow'), 'OPTIONS')
    assert.equal(allowLines(own), 1)
    const fallback = await one(server.port, ask('/elsewhere'))
    assert.equal(fallback.body.toString(), 'fallback')
    assert.equal(fallback.headers.get('allow'), ALL, 'what no route serves reaches the handler, which is given every method')
  })
})

test('static files answer OPTIONS: 204 with GET, HEAD, OPTIONS for a file, 404 for none; with a handler, OPTIONS reaches it', async () => {
  await withServer({ static: folder }, async (server) => {
    for (let i = 0; i < 2; i++) {
      // The first asks a cold cache, the second a warm one.
      const reply = await one(server.port, ask('/style.css'))
      assert.equal(reply.status, 204)
      assert.equal(reply.headers.get('allow'), 'GET, HEAD, OPTIONS')
      assert.equal(reply.body.length, 0)
    }
    assert.equal((await one(server.port, ask('/nope.css'))).status, 404)
    assert.equal((await one(server.port, ask('/a/%2e%2e/style.css'))).status, 400)
    const post = await one(server.port, `POST /style.css HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n`)
    assert.equal(post.status, 405)
    assert.equal(post.headers.get('allow'), 'GET, HEAD, OPTIONS')
  })
  await withServer({ static: folder, handler: (_request, response) => response.status(204).setHeader('Access-Control-Allow-Origin', '*').send() }, async (server) => {
    const reply = await one(server.port, ask('/style.css'))
    assert.equal(reply.headers.get('access-control-allow-origin'), '*')
    assert.equal(reply.headers.get('allow'), ALL)
  })
})

test('with workers, each worker answers OPTIONS the same way', async () => {
  const server = await serve({ host: '127.0.0.1', port: 0, workers: 2, handlerModule: new URL('../thread/fixtures/app-object.ts', import.meta.url), log: () => {} })
  try {
    const star = await one(server.port, ask('*'))
    assert.equal(star.status, 204)
    assert.equal(star.headers.get('allow'), ALL)
    const route = await one(server.port, ask('/users/7'))
    assert.equal(route.status, 204)
    assert.equal(route.headers.get('allow'), 'GET, HEAD, OPTIONS')
    const fetched = await one(server.port, ask('/other'))
    assert.equal(fetched.body.toString(), 'fetched /other')
    assert.equal(fetched.headers.get('allow'), ALL)
  } finally {
    await server.close()
  }
})
