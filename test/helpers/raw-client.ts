/*
 * Test helpers: send exact bytes over a real socket, read back what the server answers, and parse replies.
 * Every wait is bounded, so a server that hangs fails the test instead of hanging it.
 */
import assert from 'node:assert/strict'
import { connect, type Socket } from 'node:net'
import { serve, type OneLoopServeOptions, type Server } from '../../src/index.ts'

export interface Reply {
  status: number
  reason: string
  headers: Map<string, string>
  body: Buffer
  /** Raw head text, for exact assertions. */
  head: string
}

/** Opens a socket to 127.0.0.1:port; `received` collects every byte. */
export class RawClient {
  readonly socket: Socket
  received = Buffer.alloc(0)
  closed = false
  #waiters: (() => void)[] = []

  private constructor(socket: Socket) {
    this.socket = socket
    socket.on('data', (bytes: Buffer) => {
      this.received = Buffer.concat([this.received, bytes])
      this.#wake()
    })
    // The server's FIN: answer with ours, as a client does, and count the connection as closed.
    socket.on('end', () => {
      socket.end()
      this.closed = true
      this.#wake()
    })
    socket.on('close', () => {
      this.closed = true
      this.#wake()
    })
    socket.on('error', () => {})
  }

  static async open(port: number, host = '127.0.0.1'): Promise<RawClient> {
    const socket = connect({ port, host, allowHalfOpen: true })
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve)
      socket.once('error', reject)
    })
    socket.setNoDelay(true)
    return new RawClient(socket)
  }

  send(bytes: string | Uint8Array): void {
    this.socket.write(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes)
  }

  /** Sends `bytes` in pieces of `size` bytes, each in its own write, waiting `gapMs` between them. */
  async sendInPieces(bytes: string | Uint8Array, size: number, gapMs = 1): Promise<void> {
    const all = typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : Buffer.from(bytes)
    for (let i = 0; i < all.length; i += size) {
      this.socket.write(all.subarray(i, i + size))
      await new Promise((resolve) => setTimeout(resolve, gapMs))
    }
  }

  /** Waits until `done()` holds, the socket closes, or `timeoutMs` passes (then throws). */
  async waitFor(done: () => boolean, timeoutMs = 5000, what = 'the expected reply'): Promise<void> {
    const deadline = Date.now() + timeoutMs
    while (!done()) {
      if (this.closed) return
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}; got ${JSON.stringify(this.received.toString('latin1').slice(0, 400))}`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        this.#waiters.push(() => {
          clearTimeout(timer)
          resolve()
        })
      })
    }
  }

  /** Waits for `count` complete replies (or the close) and returns those parsed. */
  async replies(count: number, timeoutMs = 5000, headRequest = false): Promise<Reply[]> {
    await this.waitFor(() => parseReplies(this.received, headRequest).length >= count, timeoutMs, `${count} replies`)
    return parseReplies(this.received, headRequest)
  }

  async waitForClose(timeoutMs = 5000): Promise<void> {
    await this.waitFor(() => this.closed, timeoutMs, 'the connection to close')
  }

  close(): void {
    this.socket.destroy()
  }

  #wake(): void {
    const waiters = this.#waiters
    this.#waiters = []
    for (const wake of waiters) wake()
  }
}

/** Parses as many complete HTTP/1.1 replies as `bytes` holds (Content-Length, chunked, or no body). */
export function parseReplies(bytes: Buffer, headRequest = false): Reply[] {
  const replies: Reply[] = []
  let position = 0
  while (position < bytes.length) {
    const headEnd = bytes.indexOf('\r\n\r\n', position)
    if (headEnd < 0) break
    const head = bytes.toString('latin1', position, headEnd)
    const [statusLine, ...lines] = head.split('\r\n')
    const match = /^HTTP\/1\.[01] (\d{3}) ?(.*)$/.exec(statusLine!)
    assert.ok(match, `Bad status line ${JSON.stringify(statusLine)}`)
    const headers = new Map<string, string>()
    for (const line of lines) {
      const colon = line.indexOf(':')
      const name = line.slice(0, colon).toLowerCase()
      const value = line.slice(colon + 1).trim()
      headers.set(name, headers.has(name) ? `${headers.get(name)}, ${value}` : value)
    }
    const status = Number(match[1])
    let bodyStart = headEnd + 4
    let body: Buffer
    if (status < 200 || status === 204 || status === 304 || headRequest) {
      body = Buffer.alloc(0)
      if (status < 200) {
        position = bodyStart
        continue
      }
    } else if (headers.has('content-length')) {
      const length = Number(headers.get('content-length'))
      if (bytes.length - bodyStart < length) break
      body = bytes.subarray(bodyStart, bodyStart + length)
      bodyStart += length
    } else if (headers.get('transfer-encoding') === 'chunked') {
      const parts: Buffer[] = []
      let at = bodyStart
      let complete = false
      for (;;) {
        const lineEnd = bytes.indexOf('\r\n', at)
        if (lineEnd < 0) break
        const size = parseInt(bytes.toString('latin1', at, lineEnd), 16)
        if (size === 0) {
          if (bytes.length < lineEnd + 4) break
          at = lineEnd + 4
          complete = true
          break
        }
        if (bytes.length < lineEnd + 2 + size + 2) break
        parts.push(bytes.subarray(lineEnd + 2, lineEnd + 2 + size))
        at = lineEnd + 2 + size + 2
      }
      if (!complete) break
      body = Buffer.concat(parts)
      bodyStart = at
    } else {
      body = bytes.subarray(bodyStart)
      bodyStart = bytes.length
    }
    replies.push({ status, reason: match[2]!, headers, body, head })
    position = bodyStart
  }
  return replies
}

/** Starts a server on a free port of 127.0.0.1, runs `body`, and always closes the server. */
export async function withServer<R>(options: OneLoopServeOptions<R>, body: (server: Server) => Promise<void>): Promise<void> {
  const server = await serve({ ...options, host: '127.0.0.1', port: 0 })
  try {
    await body(server)
  } finally {
    await server.close()
  }
}

/** Sends `request` on a new connection and returns the replies received before the server closed it or `count` arrived. */
export async function exchange(port: number, request: string | Uint8Array, count = 1): Promise<{ replies: Reply[]; client: RawClient }> {
  const client = await RawClient.open(port)
  client.send(request)
  const replies = await client.replies(count)
  return { replies, client }
}

/**
 * Fails the test when sockets, servers or timers are still open: every test file runs it last. Sockets
 * that are already closing get up to a second to finish.
 */
export async function assertNoOpenHandles(): Promise<void> {
  const open = () => process.getActiveResourcesInfo().filter((name) => name !== 'TTYWrap' && name !== 'PipeWrap' && name !== 'FSReqCallback')
  for (let i = 0; i < 100 && open().length > 0; i++) await new Promise((resolve) => setImmediate(resolve, 10))
  for (let i = 0; i < 20 && open().length > 0; i++) await new Promise((resolve) => setTimeout(resolve, 50))
  assert.deepEqual(open(), [], `Handles left open: ${open().join(', ')}`)
}
