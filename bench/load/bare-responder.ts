/*
 * A bare responder on wirespeed's transport (the backend WIRESPEED_BACKEND names): no HTTP parsing, only
 * the count of "\r\n\r\n" in each read, answered with that many canned replies in one write. What
 * wirespeed's HTTP layer costs is its distance from this, on the same backend.
 *   PORT=5001 WIRESPEED_BACKEND=epoll node bench/load/bare-responder.ts
 */
import { listen } from '../../src/index.ts'

const reply = 'HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 13\r\n\r\nHello, World!'
const replies = Array.from({ length: 65 }, (_, count) => reply.repeat(count))

const listener = await listen<{ tail: number }>({
  port: Number(process.env.PORT ?? 5001),
  stringEncoding: 'latin1',
  handlers: {
    open(connection) {
      connection.data = { tail: 0 }
    },
    data(connection, bytes) {
      let last = connection.data.tail
      let requests = 0
      for (let i = 0; i < bytes.length; i++) {
        last = ((last << 8) | bytes[i]!) >>> 0
        if (last === 0x0d0a0d0a) requests++
      }
      connection.data.tail = last
      while (requests > 64) {
        connection.write(replies[64]!)
        requests -= 64
      }
      if (requests > 0) connection.write(replies[requests]!)
    },
  },
})
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, async () => {
    for (const connection of listener.connections) connection.destroy()
    await listener.close()
    process.exit(0)
  })
}
