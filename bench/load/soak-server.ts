// The soak benchmark's server: hello, with the timeouts the soak sets (HEADERS_TIMEOUT_MS, IDLE_TIMEOUT_MS).
import { serve } from '../../src/index.ts'

const server = await serve({
  port: Number(process.env.PORT ?? 5001),
  limits: { headersTimeoutMs: Number(process.env.HEADERS_TIMEOUT_MS ?? 10_000), idleTimeoutMs: Number(process.env.IDLE_TIMEOUT_MS ?? 5000) },
  handler: (_request, response) => response.send('Hello, World!'),
})
process.once('SIGTERM', async () => {
  await server.close()
  process.exit(0)
})
