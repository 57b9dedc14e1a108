/*
 * Test helpers: send exact bytes over a real socket, read back what the server answers, and parse replies.
 * Every wait is bounded, so a server that hangs fails the test instead of hanging it.
 */
import assert from 'node:assert/strict'
import { connect, type Socket } from 'node:net'
import { serve, type OneLoopServeOptions, type Server } from '../../src/index.ts'

/**
 * How long a wait lasts when the test gives no bound: a reply takes milliseconds on a fast machine, and the
 * bound must still hold on one many times slower and loaded (a wait returns as soon as its condition holds).
 */
export const WAIT_MS = 30_000

export interface Reply {
  status: number
  reason: string
  headers: Map<string, string>
  body: Buffer
  /** Raw head text, for exact assertions. */
  head: string
}

/**
 * Opens a socket to 127.0.0.1:port; `received` is every byte so far. The bytes go into one buffer that
 * doubles when full, and replies are parsed once each as they complete, so a test costs time linear in
 * what it receives (a 50 MB pipelined exchange read whole is a few copies of 50 MB, not thousands).
 */
export class RawClient {
  readonly socket: Socket
  closed = false
  #bytes = Buffer.allocUnsafe(64 * 1024)
  #length = 0
  /** One reader per way of reading bodies (after HEAD or not), each kept from poll to poll. */
  #readers = new Map<boolean, ReplyReader>()
  #waiters: (() => void)[] = []

  private constructor(socket: Socket) {
    this.socket = socket
    socket.on('data', (bytes: Buffer) => {
      this.#append(bytes)
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

  /**
   * Every byte received so far, as a view. Bytes are only ever appended (a full buffer is copied into a
   * new one twice its size), so a view taken earlier keeps its bytes.
   */
  get received(): Buffer {
    return this.#bytes.subarray(0, this.#length)
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

  /**
   * Sends `bytes` in pieces of `size` bytes, each in its own write, waiting `gapMs` between them; stops once
   * the connection is closed (the rest could go nowhere).
   */
  async sendInPieces(bytes: string | Uint8Array, size: number, gapMs = 1): Promise<void> {
    const all = typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : Buffer.from(bytes)
    for (let i = 0; i < all.length && !this.closed && !this.socket.destroyed; i += size) {
      this.socket.write(all.subarray(i, i + size))
      await new Promise((resolve) => setTimeout(resolve, gapMs))
    }
  }

  /** Waits until `done()` holds, the socket closes, or `timeoutMs` passes (then throws). */
  async waitFor(done: () => boolean, timeoutMs = WAIT_MS, what = 'the expected reply'): Promise<void> {
    const deadline = Date.now() + timeoutMs
    while (!done()) {
      if (this.closed) return
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}; got ${this.#length} bytes: ${JSON.stringify(this.received.toString('latin1', 0, 400))}`)
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
  async replies(count: number, timeoutMs = WAIT_MS, headRequest = false): Promise<Reply[]> {
    let reader = this.#readers.get(headRequest)
    if (reader === undefined) this.#readers.set(headRequest, (reader = new ReplyReader(headRequest)))
    const known = reader
    await this.waitFor(() => known.read(this.received).length >= count, timeoutMs, `${count} replies`)
    return [...known.read(this.received)]
  }

  async waitForClose(timeoutMs = WAIT_MS): Promise<void> {
    await this.waitFor(() => this.closed, timeoutMs, 'the connection to close')
  }

  close(): void {
    this.socket.destroy()
  }

  #append(bytes: Buffer): void {
    if (this.#length + bytes.length > this.#bytes.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.#bytes.length * 2, this.#length + bytes.length))
      this.#bytes.copy(grown, 0, 0, this.#length)
      this.#bytes = grown
    }
    bytes.copy(this.#bytes, this.#length)
    this.#length += bytes.length
  }

  #wake(): void {
    const waiters = this.#waiters
    this.#waiters = []
    for (const wake of waiters) wake()
  }
}

/** A reply whose head is parsed and whose chunked body is still arriving. */
interface ChunkedInProgress {
  reply: Omit<Reply, 'body'>
  parts: Buffer[]
  /** Where the next chunk-size line starts. */
  at: number
}

/**
 * Parses HTTP/1.1 replies (Content-Length, chunked, or no body) from bytes that only grow, keeping what it
 * has parsed: each call looks only at bytes it has not taken yet, and a chunked body is read chunk by chunk
 * across calls. A body delimited by the close is never final here: it is returned with what has arrived so
 * far, as the last reply, and looked at again on the next call.
 */
export class ReplyReader {
  readonly headRequest: boolean
  #done: Reply[] = []
  #position = 0
  #chunked: ChunkedInProgress | null = null

  constructor(headRequest = false) {
    this.headRequest = headRequest
  }

  /**
   * The replies complete in `bytes` (which must start with the bytes of every earlier call). The list is
   * the reader's own, kept for the next call: copy it before changing it.
   */
  read(bytes: Buffer): readonly Reply[] {
    for (;;) {
      if (this.#chunked !== null) {
        if (!this.#readChunks(bytes, this.#chunked)) return this.#done
        continue
      }
      if (this.#position >= bytes.length) return this.#done
      const headEnd = bytes.indexOf('\r\n\r\n', this.#position)
      if (headEnd < 0) return this.#done
      const head = bytes.toString('latin1', this.#position, headEnd)
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
      const bodyStart = headEnd + 4
      const reply = { status, reason: match[2]!, headers, head }
      if (status < 200) {
        this.#position = bodyStart
      } else if (status === 204 || status === 304 || this.headRequest) {
        this.#done.push({ ...reply, body: Buffer.alloc(0) })
        this.#position = bodyStart
      } else if (headers.has('content-length')) {
        const length = Number(headers.get('content-length'))
        if (bytes.length - bodyStart < length) return this.#done
        this.#done.push({ ...reply, body: bytes.subarray(bodyStart, bodyStart + length) })
        this.#position = bodyStart + length
      } else if (headers.get('transfer-encoding') === 'chunked') {
        this.#chunked = { reply, parts: [], at: bodyStart }
      } else {
        return [...this.#done, { ...reply, body: bytes.subarray(bodyStart) }]
      }
    }
  }

  /** Takes the chunks complete in `bytes`; true when the body ended (the reply is then done). */
  #readChunks(bytes: Buffer, body: ChunkedInProgress): boolean {
    for (;;) {
      const lineEnd = bytes.indexOf('\r\n', body.at)
      if (lineEnd < 0) return false
      const size = parseInt(bytes.toString('latin1', body.at, lineEnd), 16)
      if (size === 0) {
        if (bytes.length < lineEnd + 4) return false
        this.#done.push({ ...body.reply, body: Buffer.concat(body.parts) })
        this.#position = lineEnd + 4
        this.#chunked = null
        return true
      }
      if (bytes.length < lineEnd + 2 + size + 2) return false
      body.parts.push(bytes.subarray(lineEnd + 2, lineEnd + 2 + size))
      body.at = lineEnd + 2 + size + 2
    }
  }
}

/** Parses as many complete HTTP/1.1 replies as `bytes` holds (Content-Length, chunked, or no body). */
export function parseReplies(bytes: Buffer, headRequest = false): Reply[] {
  return [...new ReplyReader(headRequest).read(bytes)]
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
