/*
 * Hono runs unchanged on wirespeed: one app (./hono-app.ts) served by `serve({ fetch: app.fetch })` and by
 * @hono/node-server side by side, every request sent to both with Node's fetch, and the answers compared:
 * status, body, and every header but the ones listed in FRAMING_FIELDS with the reason.
 *
 * @hono/node-server runs with overrideGlobalObjects: false, so that each server keeps its own Response (in
 * its default mode it replaces globalThis.Response for good, as wirespeed does only while it serves).
 */
import assert from 'node:assert/strict'
import type { Server as HttpServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, test } from 'node:test'
import { serve as serveNode } from '@hono/node-server'
import { serve, type Server } from '../../src/index.ts'
import { assertNoOpenHandles } from '../helpers/raw-client.ts'
import { honoApp } from './hono-app.ts'

/**
 * Fields that differ by design, not by meaning:
 * - date: the second each reply was made;
 * - server: wirespeed names itself (`Server: wirespeed`), node:http sends none;
 * - connection, keep-alive: node:http announces `Connection: keep-alive` and `Keep-Alive: timeout=5` on
 *   HTTP/1.1, where persistence is the default (RFC 9112 §9.3); wirespeed sends neither;
 * - content-length, transfer-encoding: framing. Both send Content-Length for a body they hold whole and
 *   chunked for a stream; @hono/node-server also buffers some small streams and sends them with a length.
 */
const FRAMING_FIELDS = new Set(['date', 'server', 'connection', 'keep-alive', 'content-length', 'transfer-encoding'])

/** Lets a stream's second piece go once the test has read the first, on each server separately. */
const gates = new Map<string, () => void>()
function release(kind: string): Promise<void> {
  return new Promise((resolve) => gates.set(kind, resolve))
}

let wirespeed: Server
let nodeServer: ReturnType<typeof serveNode>
let nodeUrl: string

before(async () => {
  wirespeed = await serve({ host: '127.0.0.1', port: 0, fetch: honoApp({ release }).fetch })
  await new Promise<void>((resolve) => {
    nodeServer = serveNode({ fetch: honoApp({ release }).fetch, port: 0, hostname: '127.0.0.1', overrideGlobalObjects: false }, () => resolve())
  })
  nodeUrl = `http://127.0.0.1:${(nodeServer.address() as AddressInfo).port}`
})
after(async () => {
  await wirespeed.close()
  ;(nodeServer as HttpServer).closeAllConnections()
  await new Promise((resolve) => nodeServer.close(resolve))
  await assertNoOpenHandles()
})

interface Answer {
  status: number
  body: string
  headers: Record<string, string>
  cookies: string[]
}

async function ask(base: string, path: string, init: RequestInit = {}): Promise<Answer> {
  const reply = await fetch(base + path, { redirect: 'manual', ...init })
  const headers: Record<string, string> = {}
  for (const [name, value] of reply.headers) if (!FRAMING_FIELDS.has(name) && name !== 'set-cookie') headers[name] = value
  return { status: reply.status, body: await reply.text(), headers, cookies: reply.headers.getSetCookie() }
}

/** Asks both servers and requires the same answer; returns wirespeed's. */
async function same(path: string, init: () => RequestInit = () => ({})): Promise<Answer> {
  const ours = await ask(wirespeed.url, path, init())
  const theirs = await ask(nodeUrl, path, init())
  assert.deepEqual(ours, theirs, `${init().method ?? 'GET'} ${path}: wirespeed and @hono/node-server answer alike`)
  return ours
}

test('plain routes, parameters and the query', async () => {
  assert.equal((await same('/')).body, 'Hello, Hono!')
  assert.deepEqual(JSON.parse((await same('/api/users/42?q=x%20y')).body), { id: '42', q: 'x y' })
  assert.deepEqual(JSON.parse((await same('/api/users/a%20b/posts/7')).body), { id: 'a b', post: '7' })
})

test('middleware: cors (simple and preflight), secure-headers, etag with If-None-Match', async () => {
  const simple = await same('/api/users/1', () => ({ headers: { Origin: 'https://app.example' } }))
  assert.equal(simple.headers['access-control-allow-origin'], 'https://app.example')
  assert.equal(simple.headers['access-control-expose-headers'], 'X-Total')
  const preflight = await same('/api/users/1', () => ({ method: 'OPTIONS', headers: { Origin: 'https://app.example', 'Access-Control-Request-Method': 'PUT', 'Access-Control-Request-Headers': 'X-Custom' } }))
  assert.equal(preflight.status, 204)
  assert.match(preflight.headers['access-control-allow-methods']!, /PUT/)
  const page = await same('/page/home')
  assert.equal(page.headers['x-frame-options'], 'SAMEORIGIN')
  assert.equal(page.headers['x-content-type-options'], 'nosniff')
  assert.match(page.headers['content-type']!, /^text\/html/)
  const tagged = await same('/etag/doc')
  const etag = tagged.headers['etag']!
  assert.match(etag, /^"/)
  const notModified = await same('/etag/doc', () => ({ headers: { 'If-None-Match': etag } }))
  assert.equal(notModified.status, 304)
  assert.equal(notModified.body, '')
})

test('cookies: several Set-Cookie fields, and reading them back', async () => {
  const set = await same('/cookies/set')
  assert.deepEqual(set.cookies, ['session=abc123; Path=/; HttpOnly; SameSite=Lax', 'theme=dark; Max-Age=3600; Path=/', 'lang=en; Path=/'])
  const got = await same('/cookies/get', () => ({ headers: { Cookie: 'session=abc123; theme=dark' } }))
  assert.deepEqual(JSON.parse(got.body), { session: 'abc123', theme: 'dark' })
})

test('bodies: JSON, a urlencoded form, and a multipart upload', async () => {
  const echo = await same('/api/echo', () => ({ method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ a: [1, 'two'], b: null }) }))
  assert.equal(echo.status, 201)
  assert.deepEqual(JSON.parse(echo.body), { got: { a: [1, 'two'], b: null }, type: 'application/json' })
  const form = await same('/form', () => ({ method: 'POST', body: new URLSearchParams([['name', 'Ann Lee'], ['tags', 'x']]) }))
  assert.deepEqual(JSON.parse(form.body), { name: 'Ann Lee', tags: 'x' })
  const upload = await same('/upload', () => {
    const body = new FormData()
    body.set('title', 'notes')
    body.set('file', new File(['line one\nline two\n'], 'notes.txt', { type: 'text/plain' }))
    return { method: 'POST', body }
  })
  // Bun's File adds `;charset=utf-8` to a text type: the part is sent and parsed back with what File made of it.
  const type = new File([], 'notes.txt', { type: 'text/plain' }).type
  assert.deepEqual(JSON.parse(upload.body), { title: 'notes', file: 'notes.txt', type, size: 18, text: 'line one\nline two\n' })
})

test('redirects', async () => {
  const found = await same('/redirect')
  assert.equal(found.status, 302)
  assert.equal(found.headers['location'], '/')
  const moved = await same('/redirect/permanent')
  assert.equal(moved.status, 301)
  assert.equal(moved.headers['location'], '/page/home')
})

test('errors: app.onError for a throw and an HTTPException, and notFound', async () => {
  const failed = await same('/error')
  assert.equal(failed.status, 500)
  assert.deepEqual(JSON.parse(failed.body), { error: 'the handler failed on purpose' })
  const teapot = await same('/http-error')
  assert.equal(teapot.status, 418)
  assert.equal(teapot.body, 'short and stout')
  const missing = await same('/no/such/page')
  assert.equal(missing.status, 404)
  assert.deepEqual(JSON.parse(missing.body), { missing: '/no/such/page' })
})

/** Reads a stream reply; the second piece is released only once the first has arrived. */
async function readStream(base: string, kind: string): Promise<{ first: string; whole: string; headers: Headers }> {
  const reply = await fetch(`${base}/stream/${kind}`)
  const reader = reply.body!.getReader()
  const decoder = new TextDecoder()
  const { value } = await reader.read()
  const first = decoder.decode(value)
  gates.get(kind)!()
  let whole = first
  for (;;) {
    const { done, value: more } = await reader.read()
    if (done) break
    whole += decoder.decode(more)
  }
  return { first, whole, headers: reply.headers }
}

test('hono/streaming: a text stream and server-sent events arrive piece by piece', async () => {
  for (const base of [wirespeed.url, nodeUrl]) {
    const text = await readStream(base, 'text')
    assert.equal(text.first, 'first piece;', `${base}: the first piece arrived alone`)
    assert.equal(text.whole, 'first piece;second piece')
    const sse = await readStream(base, 'sse')
    assert.equal(sse.first, 'event: tick\ndata: one\nid: 1\n\n')
    assert.equal(sse.whole, 'event: tick\ndata: one\nid: 1\n\nevent: tick\ndata: two\nid: 2\n\n')
    assert.equal(sse.headers.get('content-type'), 'text/event-stream')
    assert.equal(sse.headers.get('cache-control'), 'no-cache')
  }
})
