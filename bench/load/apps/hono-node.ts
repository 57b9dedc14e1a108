// The Hono bench app on @hono/node-server (node:http), in its default mode (light global Request/Response).
import { serve } from '@hono/node-server'
import { app } from './hono-app.ts'

const server = serve({ fetch: app.fetch, port: Number(process.env.PORT ?? 5001), hostname: '127.0.0.1' })
process.on('SIGTERM', () => server.close(() => process.exit(0)))
