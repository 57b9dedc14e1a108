// The Hono bench app on Bun.serve. Plain JavaScript, so that the project's TypeScript check needs no Bun types.
import { app } from './hono-app.ts'

const server = Bun.serve({ hostname: '127.0.0.1', port: Number(process.env.PORT ?? 5001), fetch: app.fetch })
process.on('SIGTERM', () => {
  server.stop()
  process.exit(0)
})
