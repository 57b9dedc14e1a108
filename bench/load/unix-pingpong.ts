/*
 * Ping-pong over a Unix socket between two processes (node:net): one 11-byte message out, the same back.
 *   node bench/load/unix-pingpong.ts server PATH         (echoes; exits when the client leaves)
 *   node bench/load/unix-pingpong.ts client PATH COUNT   (prints one JSON line)
 */
import { createConnection, createServer } from 'node:net'

const [role, path, countText] = process.argv.slice(2)
if (role === 'server') {
  const server = createServer((socket) => {
    socket.setNoDelay(true)
    socket.on('data', (bytes) => socket.write(bytes))
    socket.on('close', () => server.close())
  })
  server.listen(path, () => process.stdout.write('ready\n'))
} else {
  const count = Number(countText)
  const socket = createConnection(path!)
  await new Promise((resolve) => socket.once('connect', resolve))
  const message = Buffer.alloc(11, 7)
  let received = 0
  let roundtrips = 0
  const started = performance.now()
  await new Promise<void>((resolve) => {
    socket.on('data', (bytes: Buffer) => {
      received += bytes.length
      while (received >= 11) {
        received -= 11
        if (++roundtrips === count) return resolve()
        socket.write(message)
      }
    })
    socket.write(message)
  })
  const seconds = (performance.now() - started) / 1000
  process.stdout.write(`${JSON.stringify({ contender: 'Unix socket (node:net)', roundtrips: count, seconds, perSecond: count / seconds, errors: 0 })}\n`)
  socket.end()
}
