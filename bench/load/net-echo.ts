// The plain node:net contender of the TCP benchmark: an echo server with nothing of wirespeed's.
import { createServer } from 'node:net'

const server = createServer({ noDelay: true }, (socket) => {
  socket.on('data', (bytes) => socket.write(bytes))
  socket.on('error', () => {})
})
server.listen(Number(process.env.PORT ?? 7000), '127.0.0.1', () => process.stdout.write('ready\n'))
process.once('SIGTERM', () => process.exit(0))
