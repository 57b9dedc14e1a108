/*
 * serve({ routes }) over real sockets: the order routes → static → fallback → 404, fixed Responses, typed
 * and decoded parameters, 405 with Allow and OPTIONS (RFC 9110 §15.5.6, §9.3.7), HEAD by the GET route
 * without a body (§9.3.2), handlers that return a web Response, errors, and route tables refused at start.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { RouteError, serve, type Request } from '../../src/index.ts'
import { assertNoOpenHandles, exchange, RawClient, type Reply, WAIT_MS, withServer } from '../helpers/raw-client.ts'

let folder: string
before(async () => {
  folder = await mkdtemp(join(tmpdir(), 'wirespeed-routes-'))
  await writeFile(join(folder, 'page.html'), '<p>file</p>')
  await writeFile(join(folder, 'health'), 'the file, not the route')
})
after(async () => {
  await rm(folder, { recursive: true, force: true })
  await assertNoOpenHandles()
})

const get = (path: string, method = 'GET', extra = '') => `${method} ${path} HTTP/1.1\r\nHost: x\r\n${extra}\r\n`

/** A HEAD request's reply: the head only, and then nothing (the next bytes would be another reply). */
async function head(port: number, path: string): Promise<{ reply: Reply; after: string }> {
  const client = await RawClient.open(port)
  client.send(`${get(path, 'HEAD')}${get('/after-head-probe')}`)
  const replies = await client.replies(1, WAIT_MS, true)
  client.close()
  const text = client.received.toString('latin1')
  return { reply: replies[0]!, after: text.slice(text.indexOf('\r\n\r\n') + 4, text.indexOf('\r\n\r\n') + 4 + 9) }
}

test('routes come first, then static files, then the handler, then nothing', async () => {
  await withServer({
    routes: { '/health': new Response('ok'), 'GET /users/:id': (request, response) => response.json({ id: request.params.id }) },
    static: folder,
    handler: (request, response) => response.status(404).send(`fallback ${request.path}`),
  }, async (server) => {
    for (const [path, status, body] of [['/health', 200, 'ok'], ['/users/7', 200, '{"id":"7"}'], ['/page.html', 200, '<p>file</p>'], ['/nope', 404, 'fallback /nope']] as const) {
      const { replies, client } = await exchange(server.port, get(path))
      client.close()
      assert.equal(replies[0]!.status, status, path)
      assert.equal(replies[0]!.body.toString(), body, path)
    }
  })
})

test('routes without a fallback answer 404 for what they do not know', async () => {
  await withServer({ routes: { 'GET /a': (_request, response) => response.send('a') } }, async (server) => {
    const { replies, client } = await exchange(server.port, get('/b'))
    client.close()
    assert.equal(replies[0]!.status, 404)
    assert.match(replies[0]!.body.toString(), /Not Found: GET \/b/)
  })
})

test('a fixed Response is sent as made, status, headers and body, to every method and to HEAD without a body', async () => {
  const fixed = new Response('{"ok":true}', { status: 201, statusText: 'Made', headers: { 'Content-Type': 'application/json', 'X-One': '1' } })
  await withServer({ routes: { '/fixed': fixed } }, async (server) => {
    for (const method of ['GET', 'POST', 'HEAD']) {
      let reply: Reply
      if (method === 'HEAD') {
        const result = await head(server.port, '/fixed')
        assert.equal(result.after, 'HTTP/1.1 ', 'no body after the head: the next reply follows')
        reply = result.reply
      } else {
        const { replies, client } = await exchange(server.port, get('/fixed', method))
        client.close()
        reply = replies[0]!
      }
      assert.equal(reply.status, 201)
      assert.equal(reply.reason, 'Made')
      assert.equal(reply.headers.get('content-type'), 'application/json')
      assert.equal(reply.headers.get('x-one'), '1')
      assert.equal(reply.headers.get('content-length'), '11')
      assert.equal(reply.body.toString(), method === 'HEAD' ? '' : '{"ok":true}')
    }
  })
  assert.equal(await fixed.text(), '{"ok":true}', 'the Response given is left unread')
})

test('a path known under other methods is 405 with Allow; OPTIONS lists the methods; HEAD uses GET', async () => {
  let headBody = ''
  await withServer({
    routes: {
      'GET /items/:id': (_request, response) => response.send('the item'),
      'PUT /items/:id': (_request, response) => response.send('put'),
      'OPTIONS /custom': (_request, response) => response.status(200).send('my options'),
      '/custom': { GET: (_request, response) => response.send('c') },
      'POST /only': async (request) => { headBody = await request.text(); return new Response('posted') },
    },
  }, async (server) => {
    const del = await exchange(server.port, get('/items/1', 'DELETE'))
    del.client.close()
    assert.equal(del.replies[0]!.status, 405)
    assert.equal(del.replies[0]!.headers.get('allow'), 'GET, HEAD, PUT, OPTIONS')
    const options = await exchange(server.port, get('/items/1', 'OPTIONS'))
    options.client.close()
    assert.equal(options.replies[0]!.status, 204)
    assert.equal(options.replies[0]!.headers.get('allow'), 'GET, HEAD, PUT, OPTIONS')
    const custom = await exchange(server.port, get('/custom', 'OPTIONS'))
    custom.client.close()
    assert.equal(custom.replies[0]!.body.toString(), 'my options', 'an OPTIONS route of its own is used')
    const headed = await head(server.port, '/items/1')
    assert.equal(headed.reply.status, 200)
    assert.equal(headed.reply.headers.get('content-length'), '8', 'HEAD gets the length GET would send')
    assert.equal(headed.after, 'HTTP/1.1 ', 'and no body')
    const only = await exchange(server.port, get('/only', 'GET'))
    only.client.close()
    assert.equal(only.replies[0]!.status, 405)
    assert.equal(only.replies[0]!.headers.get('allow'), 'POST, OPTIONS')
    const posted = await exchange(server.port, 'POST /only HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello')
    posted.client.close()
    assert.equal(posted.replies[0]!.body.toString(), 'posted')
    assert.equal(headBody, 'hello')
  })
})

test('parameters are percent-decoded; a malformed escape is 400, never a crash', async () => {
  const seen: Record<string, string>[] = []
  await withServer({ routes: { 'GET /u/:name/files/*': (request, response) => { seen.push({ ...request.params }); response.send('ok') } } }, async (server) => {
    const good = await exchange(server.port, get('/u/J%C3%BCrgen/files/a%20b/c.txt'))
    good.client.close()
    assert.equal(good.replies[0]!.status, 200)
    assert.deepEqual(seen, [{ name: 'Jürgen', '*': 'a b/c.txt' }])
    for (const bad of ['/u/%E2%82/files/x', '/u/x/files/%zz', '/u/%/files/x']) {
      const { replies, client } = await exchange(server.port, get(bad))
      client.close()
      assert.equal(replies[0]!.status, 400, bad)
      assert.match(replies[0]!.body.toString(), /not valid percent-encoded UTF-8/)
    }
    const after = await exchange(server.port, get('/u/a/files/b'))
    after.client.close()
    assert.equal(after.replies[0]!.status, 200, 'the server still answers')
  })
})

test('a route that throws or rejects is 500 through onError; a Response it returns is the reply', async () => {
  const errors: unknown[] = []
  await withServer({
    onError: (error) => errors.push(error),
    routes: {
      'GET /throw': () => { throw new Error('boom') },
      'GET /reject': async () => { throw new Error('later') },
      'GET /web': (request: Request<{}>) => new Response(`web ${request.method}`, { headers: [['Set-Cookie', 'a=1'], ['Set-Cookie', 'b=2']] }),
      'GET /web-async': async () => new Response(null, { status: 204 }),
    },
  }, async (server) => {
    for (const path of ['/throw', '/reject']) {
      const { replies, client } = await exchange(server.port, get(path))
      client.close()
      assert.equal(replies[0]!.status, 500, path)
    }
    assert.deepEqual(errors.map((error) => (error as Error).message), ['boom', 'later'])
    const web = await exchange(server.port, get('/web'))
    web.client.close()
    assert.equal(web.replies[0]!.body.toString(), 'web GET')
    assert.match(web.replies[0]!.head, /\r\nset-cookie: a=1\r\nset-cookie: b=2(\r\n|$)/i)
    const none = await exchange(server.port, get('/web-async'))
    none.client.close()
    assert.equal(none.replies[0]!.status, 204)
  })
})

test('serve() refuses a route table it cannot serve, before listening, saying why', async () => {
  const cases: [Record<string, unknown>, string, RegExp][] = [
    [{ 'GET /a/:id': () => {}, 'GET /a/:name': () => {} }, 'ROUTE_CONFLICT', /"GET \/a\/:name" repeats route "GET \/a\/:id"/],
    [{ 'FETCH /a': () => {} }, 'BAD_ROUTE', /METHOD one of/],
    [{ '/a': 42 }, 'BAD_ROUTE', /expected a function \(request, response\), a Response or an object of methods, got number/],
    [{ '/a': { GET: 'text' } }, 'BAD_ROUTE', /got string/],
    [{ '/a': { FETCH: () => {} } }, 'BAD_ROUTE', /"FETCH" is not one of/],
    [{ 'GET /a': { GET: () => {} } }, 'BAD_ROUTE', /without a method/],
  ]
  for (const [routes, code, message] of cases) {
    await assert.rejects(serve({ port: 0, routes: routes as never }), (error: unknown) => error instanceof RouteError && error.code === code && message.test(error.message), JSON.stringify(Object.keys(routes)))
  }
  await assert.rejects(serve({ port: 0, routes: [] as never }), /Invalid option routes/)
  await assert.rejects(serve({ port: 0, handler: () => {}, fetch: () => new Response('') }), /give one/)
})
