// The apps bench's Hono app: a plain-text route, a JSON route with a parameter, and a POST that parses a
// JSON body. The same module runs on wirespeed's fetch mode, on @hono/node-server and on Bun.serve.
import { Hono } from 'hono'

export const app = new Hono()
app.get('/', (c) => c.text('Hello, World!'))
app.get('/users/:id', (c) => c.json({ id: c.req.param('id') }))
app.post('/echo', async (c) => c.json(await c.req.json()))
