/*
 * Micro-benchmark: the HTTP layer alone, on one thread, no sockets: a ConnectionState fed reads of 16
 * pipelined `GET /` requests (what wrk's pipeline.lua sends), answered by the hello handler, with a fake
 * connection that only counts the bytes written. The figure is ns per request of wirespeed's own code
 * (parser, Request/Response, head, batching), the part of a request that is not the kernel's.
 *   node bench/micro/http-layer.ts [requests]
 */
import { ConnectionState, type ServerContext } from '../../src/http/connection-state.ts'
import { resolveLimits } from '../../src/limits.ts'
import { copyParts } from '../../src/tcp/copy-parts.ts'
import type { Connection, Protocol } from '../../src/tcp/types.ts'

const requests = Number(process.argv[2] ?? 4_000_000)
const DEPTH = 16
const read = Buffer.from('GET / HTTP/1.1\r\nHost: 127.0.0.1:5001\r\n\r\n'.repeat(DEPTH), 'latin1')

let written = 0
let text = ''
let parts: (string | Uint8Array)[] = []
const connection = {
  data: undefined as unknown as Protocol,
  remoteAddress: '127.0.0.1',
  remotePort: 40000,
  localPort: 5001,
  closed: false,
  bufferedBytes: 0,
  sentBytes: 0,
  writeBlocked: false,
  readPaused: false,
  write(bytes: string | Uint8Array): boolean {
    // As the epoll connection does: strings join one batch, bytes are parts of their own; all are copied
    // into a scratch buffer at the read's end (there sent, here dropped).
    if (typeof bytes === 'string') text += bytes
    else {
      if (text !== '') parts.push(text)
      text = ''
      parts.push(bytes)
    }
    written += bytes.length
    return true
  },
  flush() {
    if (text !== '') parts.push(text)
    text = ''
    copyParts(scratch, parts)
    parts = []
  },
  owesDrain: () => false,
  pause() {},
  resume() {},
  setTimeout() {},
  end() {},
  destroy() {},
} satisfies Connection<Protocol>
const scratch = Buffer.allocUnsafe(64 * 1024)

const context: ServerContext = {
  limits: resolveLimits(),
  counters: { requests: 0, bytesOut: 0 },
  onError: (error) => console.error(error),
  upgrader: undefined,
  handler(request, response) {
    if (request.path === '/') response.send('Hello, World!')
    else response.status(404).send('Not Found\n')
  },
}
const state = new ConnectionState(connection, context)
connection.data = state

for (let round = 0; round < 5; round++) {
  const started = performance.now()
  for (let i = 0; i < requests; i += DEPTH) {
    state.onData(read)
    connection.flush()
  }
  const ns = ((performance.now() - started) * 1e6) / requests
  console.log(`http layer, 16 pipelined GET /: ${ns.toFixed(1)} ns per request`)
}
if (context.counters.requests !== 5 * Math.ceil(requests / DEPTH) * DEPTH) throw new Error(`served ${context.counters.requests} requests`)
if (written === 0) throw new Error('nothing written')
