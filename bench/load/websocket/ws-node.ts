// The WebSocket bench's server on the `ws` package (Node): the same work as wirespeed.ts. ws has no topics:
// a publish is the usual loop over the other clients.
import { WebSocketServer, type WebSocket } from 'ws'
import { reportMemoryOnSignal } from './memory-report.ts'

reportMemoryOnSignal()

const server = new WebSocketServer({ host: '127.0.0.1', port: Number(process.env.PORT ?? 5001), perMessageDeflate: false })
server.on('connection', (socket: WebSocket) => {
  socket.on('message', (data, isBinary) => {
    if (!isBinary && (data as Buffer)[0] === 0x50) {
      for (const other of server.clients) if (other !== socket) other.send(data, { binary: false })
    } else socket.send(data, { binary: isBinary })
  })
})
process.on('SIGTERM', () => server.close(() => process.exit(0)))
