// The node:http contender: the same answer as examples/hello.ts (200 text/plain "Hello, World!"), same Node.
import { createServer } from 'node:http'

const server = createServer((request, response) => {
  if (request.url === '/') {
    response.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': '13' })
    response.end('Hello, World!')
  } else {
    response.writeHead(404).end()
  }
})
server.keepAliveTimeout = 5000
server.listen(Number(process.env.PORT ?? 5001), '127.0.0.1')
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => server.close(() => process.exit(0)))
