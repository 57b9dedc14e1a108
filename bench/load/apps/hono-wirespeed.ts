// The Hono bench app on wirespeed's fetch mode (the default backend: epoll on Linux).
import { serve } from '../../../src/index.ts'
import { app } from './hono-app.ts'

const server = await serve({ port: Number(process.env.PORT ?? 5001), fetch: app.fetch })
process.on('SIGTERM', () => void server.close().then(() => process.exit(0)))
