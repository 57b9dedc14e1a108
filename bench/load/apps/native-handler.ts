// The apps bench's work in one native handler that routes by hand (what wirespeed offered before routes).
import { serve } from '../../../src/index.ts'

const server = await serve({
  port: Number(process.env.PORT ?? 5001),
  handler: (request, response) => {
    const path = request.path
    if (request.method === 'GET' && path === '/') return response.send('Hello, World!')
    if (request.method === 'GET' && path.startsWith('/users/') && path.indexOf('/', 7) < 0) return response.json({ id: decodeURIComponent(path.slice(7)) })
    if (request.method === 'POST' && path === '/echo') return request.json().then((value) => response.json(value))
    response.status(404).send('Not Found\n')
  },
})
process.on('SIGTERM', () => void server.close().then(() => process.exit(0)))
