/*
 * The four requests an outside conformance probe warned on (docs/security.md, "Four readings of the RFCs"),
 * sent as such a probe sends them, to the app shapes a probe is pointed at: a native handler and a fetch
 * handler that answer every request 200 (POST echoing its body), and a route table with a 404 fallback.
 */
import assert from 'node:assert/strict'
import { after, test } from 'node:test'
import type { Handler, OneLoopServeOptions } from '../../src/index.ts'
import { assertNoOpenHandles, exchange, RawClient, withServer, type Reply } from '../helpers/raw-client.ts'

after(assertNoOpenHandles)

const echo: Handler = async (request, response) => response.send(request.method === 'POST' ? await request.text() : 'OK')
const apps: [string, OneLoopServeOptions<unknown>][] = [
  ['a native handler', { handler: echo }],
  ['a fetch handler', { fetch: async (request: Request) => new Response(request.method === 'POST' ? await request.text() : 'OK') }],
  ['routes with a 404 fallback', { routes: { '/': echo, '/echo': echo } }],
]

async function refused(port: number, request: string): Promise<Reply> {
  const { replies, client } = await exchange(port, request)
  await client.waitForClose()
  return replies[0]!
}

for (const [shape, options] of apps) {
  test(`the probe's four cases against ${shape}`, async () => {
    await withServer(options, async (server) => {
      const backslash = await refused(server.port, 'GET /path\\file HTTP/1.1\r\nHost: x\r\n\r\n')
      assert.equal(backslash.status, 400)
      const types = await refused(server.port, 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Type: text/plain\r\nContent-Type: text/html\r\n\r\nhello')
      assert.equal(types.status, 400)
      const trace = await refused(server.port, 'TRACE / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello')
      assert.equal(trace.status, 400)
      const client = await RawClient.open(server.port)
      client.send('OPTIONS / HTTP/1.1\r\nHost: x\r\n\r\nOPTIONS * HTTP/1.1\r\nHost: x\r\n\r\nPOST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain; charset="a,b"\r\nContent-Length: 5\r\n\r\nhelloGET /path%5Cfile?q=a\\b HTTP/1.1\r\nHost: x\r\n\r\n')
      const [options, star, post, encoded] = await client.replies(4)
      client.close()
      assert.ok(options!.status >= 200 && options!.status < 300, `OPTIONS / answered ${options!.status}`)
      assert.ok(options!.headers.has('allow'), 'OPTIONS / names the methods')
      assert.equal(star!.status, 204)
      assert.ok(star!.headers.get('allow')!.includes('GET'))
      assert.equal(post!.body.toString(), 'hello', 'one Content-Type with a comma in quotes is served')
      assert.equal(encoded!.status, shape.startsWith('routes') ? 404 : 200, '%5C in the path and a raw backslash in the query are valid')
    })
  })
}
