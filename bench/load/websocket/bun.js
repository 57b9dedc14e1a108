// The WebSocket bench's server on Bun.serve (uWebSockets inside): the same work as wirespeed.ts. Plain
// JavaScript, so that the project's TypeScript check needs no Bun types.
import { reportMemoryOnSignal } from './memory-report.ts'

reportMemoryOnSignal()
const server = Bun.serve({
  hostname: '127.0.0.1',
  port: Number(process.env.PORT ?? 5001),
  fetch(request, server) {
    if (server.upgrade(request)) return undefined
    return new Response('WebSocket only', { status: 426 })
  },
  websocket: {
    idleTimeout: 0,
    perMessageDeflate: false,
    open(ws) {
      ws.subscribe('fan')
    },
    message(ws, message) {
      if (typeof message === 'string' && message.charCodeAt(0) === 0x50) ws.publish('fan', message)
      else ws.send(message)
    },
  },
})
process.on('SIGTERM', () => {
  server.stop(true)
  process.exit(0)
})
