// The baseline of the WebSocket bench's memory figure: wirespeed's own transport (src/tcp) holding idle
// connections, with nothing of HTTP or WebSocket on them: "the socket itself".
import { listen } from '../../../src/index.ts'
import { reportMemoryOnSignal } from './memory-report.ts'

reportMemoryOnSignal()
const listener = await listen({ port: Number(process.env.PORT ?? 5001), handlers: { data: (connection, bytes) => void connection.write(bytes) } })
process.on('SIGTERM', () => {
  for (const connection of listener.connections) connection.destroy()
  void listener.close().then(() => process.exit(0))
})
