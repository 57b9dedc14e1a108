/*
 * A small HTTP/1.1 load generator, used where wrk is not installed (and by the quick mode in the tests).
 * N keep-alive connections, each keeping `pipeline` GET requests (or POSTs of `--body`) in flight; it counts complete replies by
 * their Content-Length and prints one JSON line: { requests, seconds, errors }.
 * It is written with wirespeed's own TCP client, which gets exercised on the way.
 *   node bench/load/loadgen.ts --port 5001 [--path /] [--connections 60] [--pipeline 1] [--seconds 5] [--body JSON]
 */
import { parseArgs } from 'node:util'
import { connect, type Connection } from '../../src/index.ts'

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    path: { type: 'string', default: '/' },
    connections: { type: 'string', default: '60' },
    pipeline: { type: 'string', default: '1' },
    seconds: { type: 'string', default: '5' },
    body: { type: 'string' },
  },
})
const port = Number(values.port)
const connections = Number(values.connections)
const pipeline = Number(values.pipeline)
const seconds = Number(values.seconds)
const one = values.body === undefined
  ? `GET ${values.path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`
  : `POST ${values.path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(values.body)}\r\n\r\n${values.body}`
const batch = one.repeat(pipeline)

interface State {
  /** The start of a head that has not fully arrived (a head is small: only it is ever held). */
  held: Buffer
  /** Body bytes of the current reply still to come: skipped as they arrive, never kept. */
  bodyLeft: number
  owed: number
}
let requests = 0
let errors = 0
let running = true

/**
 * Counts the replies `bytes` completes. Bodies are skipped by their length and only a partial head is held,
 * so counting costs time linear in the bytes received: a 4 MiB body arriving in 64 KiB reads is not copied
 * again on every read (the load generator must cost far less than the server it loads).
 */
function countReplies(state: State, bytes: Buffer): number {
  let count = 0
  let position = 0
  if (state.bodyLeft > 0) {
    position = Math.min(state.bodyLeft, bytes.length)
    state.bodyLeft -= position
    if (state.bodyLeft > 0) return 0
    count++
  }
  const buffer = state.held.length ? Buffer.concat([state.held, bytes.subarray(position)]) : bytes
  if (state.held.length) position = 0
  for (;;) {
    const headEnd = buffer.indexOf('\r\n\r\n', position)
    if (headEnd < 0) break
    const head = buffer.toString('latin1', position, headEnd).toLowerCase()
    const at = head.indexOf('content-length:')
    const length = at < 0 ? 0 : parseInt(head.slice(at + 15), 10)
    if (!head.startsWith('http/1.1 200')) errors++
    const end = headEnd + 4 + length
    if (buffer.length < end) {
      state.bodyLeft = end - buffer.length
      position = buffer.length
      break
    }
    position = end
    count++
  }
  state.held = position < buffer.length ? Buffer.from(buffer.subarray(position)) : Buffer.alloc(0)
  return count
}

const handlers = {
  data(connection: Connection<State>, bytes: Buffer) {
    const state = connection.data
    const count = countReplies(state, bytes)
    requests += count
    state.owed -= count
    if (state.owed === 0 && running) {
      state.owed = pipeline
      connection.write(batch)
    }
  },
  error() {
    errors++
  },
}

const open: Connection<State>[] = []
for (let i = 0; i < connections; i++) {
  const connection = await connect<State>({ port, handlers })
  connection.data = { held: Buffer.alloc(0), bodyLeft: 0, owed: pipeline }
  open.push(connection)
}
const started = performance.now()
for (const connection of open) connection.write(batch)
await new Promise((resolve) => setTimeout(resolve, seconds * 1000))
running = false
const elapsed = (performance.now() - started) / 1000
const counted = requests
for (const connection of open) connection.destroy()
process.stdout.write(`${JSON.stringify({ requests: counted, seconds: elapsed, errors })}\n`)
