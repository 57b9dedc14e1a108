// The soak benchmark's server: hello, with the timeouts the soak sets (HEADERS_TIMEOUT_MS, IDLE_TIMEOUT_MS).
// It binds the port the kernel picks and prints `listening PORT` (a port chosen beforehand could be taken
// by another test's client socket in between: a fresh-clone CI run failed with EADDRINUSE that way).
import { serve } from '../../src/index.ts'

const server = await serve({
  port: 0,
  limits: { headersTimeoutMs: Number(process.env.HEADERS_TIMEOUT_MS ?? 10_000), idleTimeoutMs: Number(process.env.IDLE_TIMEOUT_MS ?? 5000) },
  handler: (_request, response) => response.send('Hello, World!'),
})
process.stdout.write(`listening ${server.port}\n`)
process.once('SIGTERM', async () => {
  await server.close()
  process.exit(0)
})
