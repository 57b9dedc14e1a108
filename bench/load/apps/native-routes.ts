// The apps bench's work in wirespeed's native routes.
import { serve } from '../../../src/index.ts'

const server = await serve({
  port: Number(process.env.PORT ?? 5001),
  routes: {
    'GET /': (_request, response) => response.send('Hello, World!'),
    'GET /users/:id': (request, response) => response.json({ id: request.params.id }),
    'POST /echo': async (request, response) => response.json(await request.json()),
  },
})
process.on('SIGTERM', () => void server.close().then(() => process.exit(0)))
