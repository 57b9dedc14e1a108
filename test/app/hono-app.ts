/*
 * One Hono app that uses what real apps use: routing with parameters, middleware (cors, etag,
 * secure-headers), cookies (several Set-Cookie), JSON, form and multipart bodies, redirects, streaming (a
 * text stream and server-sent events), a thrown error with app.onError, and 404. The Hono test serves it on
 * wirespeed and on @hono/node-server side by side; the apps bench serves its first three routes.
 *
 * `release` lets a test hold a stream between two pieces: the second is written only after the client has
 * read the first, which proves the pieces leave as they are written.
 */
import { Hono } from 'hono'
import { getCookie, setCookie } from 'hono/cookie'
import { cors } from 'hono/cors'
import { etag } from 'hono/etag'
import { HTTPException } from 'hono/http-exception'
import { secureHeaders } from 'hono/secure-headers'
import { stream, streamSSE } from 'hono/streaming'

export interface HonoAppHooks {
  /** Resolves when the client has read the first piece of /stream/:kind. */
  release?: (kind: string) => Promise<void>
}

export function honoApp(hooks: HonoAppHooks = {}): Hono {
  const app = new Hono()
  app.use('/api/*', cors({ origin: ['https://app.example'], allowHeaders: ['X-Custom'], exposeHeaders: ['X-Total'], credentials: true }))
  app.use('/page/*', secureHeaders())
  app.use('/etag/*', etag())

  app.get('/', (c) => c.text('Hello, Hono!'))
  app.get('/api/users/:id', (c) => {
    c.header('X-Total', '1')
    return c.json({ id: c.req.param('id'), q: c.req.query('q') ?? null })
  })
  app.get('/api/users/:id/posts/:post', (c) => c.json(c.req.param()))
  app.post('/api/echo', async (c) => c.json({ got: await c.req.json(), type: c.req.header('content-type') }, 201))
  app.post('/form', async (c) => {
    const body = await c.req.parseBody()
    return c.json({ name: body['name'], tags: body['tags'] ?? null })
  })
  app.post('/upload', async (c) => {
    const body = await c.req.parseBody()
    const file = body['file'] as File
    return c.json({ title: body['title'], file: file.name, type: file.type, size: file.size, text: await file.text() })
  })
  app.get('/page/home', (c) => c.html('<h1>home</h1>'))
  app.get('/etag/doc', (c) => c.text('a document with an etag'))
  app.get('/cookies/set', (c) => {
    setCookie(c, 'session', 'abc123', { path: '/', httpOnly: true, sameSite: 'Lax' })
    setCookie(c, 'theme', 'dark', { maxAge: 3600 })
    setCookie(c, 'lang', 'en')
    return c.text('cookies set')
  })
  app.get('/cookies/get', (c) => c.json(getCookie(c)))
  app.get('/redirect', (c) => c.redirect('/'))
  app.get('/redirect/permanent', (c) => c.redirect('/page/home', 301))
  app.get('/stream/text', (c) =>
    stream(c, async (out) => {
      await out.write('first piece;')
      await hooks.release?.('text')
      await out.write('second piece')
    }),
  )
  app.get('/stream/sse', (c) =>
    streamSSE(c, async (out) => {
      await out.writeSSE({ event: 'tick', data: 'one', id: '1' })
      await hooks.release?.('sse')
      await out.writeSSE({ event: 'tick', data: 'two', id: '2' })
    }),
  )
  app.get('/error', () => {
    throw new Error('the handler failed on purpose')
  })
  app.get('/http-error', () => {
    throw new HTTPException(418, { message: 'short and stout' })
  })
  app.onError((error, c) => {
    if (error instanceof HTTPException) return error.getResponse()
    return c.json({ error: error.message }, 500)
  })
  app.notFound((c) => c.json({ missing: c.req.path }, 404))
  return app
}
