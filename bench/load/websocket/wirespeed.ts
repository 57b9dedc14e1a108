// The WebSocket bench's server on wirespeed: echo every message; one starting with "P" is published to every
// other socket (all subscribe to "fan").
import { serve } from '../../../src/index.ts'
import { reportMemoryOnSignal } from './memory-report.ts'

reportMemoryOnSignal()

const server = await serve({
  port: Number(process.env.PORT ?? 5001),
  // The memory figure opens 10,000 sockets at once.
  limits: { connectionsMax: 20_000 },
  handler: (_request, response) => void response.upgrade(),
  websocket: {
    idleTimeoutMs: 0,
    open: (ws) => ws.subscribe('fan'),
    message(ws, message) {
      if (typeof message === 'string' && message.charCodeAt(0) === 0x50) ws.publish('fan', message)
      else ws.send(message)
    },
  },
})
process.on('SIGTERM', () => void server.close().then(() => process.exit(0)))
