/*
 * A raw WebSocket client for the tests: it sends exact frames (masked or not, any bits, any split) and reads
 * the server's frames back one by one, so each RFC 6455 rule can be checked byte for byte. Every wait is
 * bounded: a server that hangs fails the test instead of hanging it.
 */
import { randomBytes } from 'node:crypto'
import { connect, type Socket } from 'node:net'
import zlib from 'node:zlib'
import { WAIT_MS } from './raw-client.ts'

export interface Frame {
  fin: boolean
  rsv1: boolean
  rsv2: boolean
  rsv3: boolean
  opcode: number
  masked: boolean
  payload: Buffer
}

export interface FrameOptions {
  fin?: boolean
  rsv1?: boolean
  rsv2?: boolean
  rsv3?: boolean
  mask?: boolean
  /** Lie about the length (the payload sent is still `payload`). */
  length?: number
}

/** One frame as a client sends it: masked unless `mask: false`. */
export function clientFrame(opcode: number, payload: string | Uint8Array = '', options: FrameOptions = {}): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : Buffer.from(payload)
  const length = options.length ?? body.length
  const masked = options.mask !== false
  const head: number[] = [
    ((options.fin ?? true) ? 0x80 : 0) | (options.rsv1 ? 0x40 : 0) | (options.rsv2 ? 0x20 : 0) | (options.rsv3 ? 0x10 : 0) | opcode,
  ]
  const maskBit = masked ? 0x80 : 0
  if (length < 126) head.push(maskBit | length)
  else if (length < 65536) head.push(maskBit | 126, length >> 8, length & 0xff)
  else {
    head.push(maskBit | 127)
    const high = Math.floor(length / 2 ** 32)
    const low = length >>> 0
    head.push(high >>> 24, (high >>> 16) & 0xff, (high >>> 8) & 0xff, high & 0xff, low >>> 24, (low >>> 16) & 0xff, (low >>> 8) & 0xff, low & 0xff)
  }
  if (!masked) return Buffer.concat([Buffer.from(head), body])
  const key = randomBytes(4)
  const out = Buffer.from(body)
  for (let index = 0; index < out.length; index++) out[index]! ^= key[index & 3]!
  return Buffer.concat([Buffer.from(head), key, out])
}

/** A close frame's payload: the code and a reason. */
export function closePayload(code: number, reason: string | Buffer = ''): Buffer {
  const bytes = Buffer.alloc(2)
  bytes.writeUInt16BE(code)
  return Buffer.concat([bytes, typeof reason === 'string' ? Buffer.from(reason) : reason])
}

/** What permessage-deflate makes of a message (RFC 7692 §7.2.1). */
export function deflate(payload: string | Uint8Array): Buffer {
  const out = zlib.deflateRawSync(payload, { finishFlush: zlib.constants.Z_SYNC_FLUSH })
  return out.subarray(0, out.length - 4)
}
export function inflate(payload: Buffer): Buffer {
  return zlib.inflateRawSync(Buffer.concat([payload, Buffer.from([0, 0, 0xff, 0xff])]), { finishFlush: zlib.constants.Z_SYNC_FLUSH })
}

export const KEY = 'dGhlIHNhbXBsZSBub25jZQ=='

/** The upgrade request's text, with `fields` added (or replacing the defaults of the same name). */
export function upgradeRequest(path = '/', fields: Record<string, string | undefined> = {}, requestLine = `GET ${path} HTTP/1.1`): string {
  const all: Record<string, string | undefined> = {
    Host: '127.0.0.1',
    Upgrade: 'websocket',
    Connection: 'Upgrade',
    'Sec-WebSocket-Key': KEY,
    'Sec-WebSocket-Version': '13',
    ...fields,
  }
  let text = `${requestLine}\r\n`
  for (const [name, value] of Object.entries(all)) if (value !== undefined) text += `${name}: ${value}\r\n`
  return `${text}\r\n`
}

export class WsClient {
  readonly socket: Socket
  /** The server's reply head (up to the blank line), once received. */
  head = ''
  status = 0
  headers = new Map<string, string>()
  /**
   * Bytes received and not yet taken, at #start..#end of #bytes. New bytes are copied in after #end; when
   * they do not fit, the bytes not taken move to a buffer at least twice their size. Each byte is thus
   * copied a bounded number of times on average, whatever the sizes of the chunks and frames.
   */
  #bytes = Buffer.allocUnsafe(64 * 1024)
  #start = 0
  #end = 0
  #headDone = false
  ended = false
  closed = false
  #waiters: (() => void)[] = []

  private constructor(socket: Socket) {
    this.socket = socket
    socket.on('data', (bytes: Buffer) => {
      this.#append(bytes)
      this.#parseHead()
      this.#wake()
    })
    socket.on('end', () => {
      this.ended = true
      this.#wake()
    })
    socket.on('close', () => {
      this.closed = true
      this.#wake()
    })
    socket.on('error', () => {})
  }

  /** Connects and sends `request` (an upgrade by default); resolves once the reply head is in. */
  static async open(port: number, request: string | Buffer = upgradeRequest()): Promise<WsClient> {
    const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true })
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve)
      socket.once('error', reject)
    })
    const client = new WsClient(socket)
    socket.write(request)
    await client.until(() => client.#headDone || client.closed, 'the reply head')
    return client
  }

  send(bytes: Buffer | string): void {
    this.socket.write(bytes)
  }

  /** The next whole frame from the server. */
  async frame(timeoutMs = WAIT_MS): Promise<Frame> {
    let frame: Frame | null = null
    await this.until(() => (frame = this.#takeFrame()) !== null || this.closed || this.ended, 'a frame', timeoutMs)
    if (frame === null) frame = this.#takeFrame()
    if (frame === null) throw new Error(`Connection ended before a frame (${this.#end - this.#start} bytes left)`)
    return frame
  }

  /** Reads frames until a close frame; returns its code (1005 for none) and reason. */
  async closeFrame(timeoutMs = WAIT_MS): Promise<{ code: number; reason: string; before: Frame[] }> {
    const before: Frame[] = []
    for (;;) {
      const frame = await this.frame(timeoutMs)
      if (frame.opcode !== 8) {
        before.push(frame)
        continue
      }
      const code = frame.payload.length >= 2 ? frame.payload.readUInt16BE(0) : 1005
      return { code, reason: frame.payload.subarray(2).toString(), before }
    }
  }

  /** Waits for the server to end the TCP connection (FIN or close). */
  async waitEnd(timeoutMs = WAIT_MS): Promise<void> {
    await this.until(() => this.ended || this.closed, 'the connection to end', timeoutMs)
  }

  /** Bytes received after the head and not yet taken as frames. */
  get pending(): Buffer {
    return this.#buffer()
  }

  close(): void {
    this.socket.destroy()
  }

  async until(done: () => boolean, what: string, timeoutMs = WAIT_MS): Promise<void> {
    const deadline = Date.now() + timeoutMs
    while (!done()) {
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`Timed out waiting for ${what}`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        this.#waiters.push(() => {
          clearTimeout(timer)
          resolve()
        })
      })
    }
  }

  #wake(): void {
    const waiters = this.#waiters
    this.#waiters = []
    for (const wake of waiters) wake()
  }

  #buffer(): Buffer {
    return this.#bytes.subarray(this.#start, this.#end)
  }

  #append(bytes: Buffer): void {
    if (this.#end + bytes.length > this.#bytes.length) {
      const live = this.#end - this.#start
      // (A new buffer, not a move in place: views handed out earlier, such as `pending`, keep their bytes.)
      const moved = Buffer.allocUnsafe(Math.max(64 * 1024, 2 * (live + bytes.length)))
      this.#bytes.copy(moved, 0, this.#start, this.#end)
      this.#bytes = moved
      this.#start = 0
      this.#end = live
    }
    bytes.copy(this.#bytes, this.#end)
    this.#end += bytes.length
  }

  #parseHead(): void {
    if (this.#headDone) return
    const end = this.#buffer().indexOf('\r\n\r\n')
    if (end < 0) return
    this.head = this.#buffer().subarray(0, end).toString('latin1')
    const [statusLine, ...lines] = this.head.split('\r\n')
    this.status = Number(statusLine!.split(' ')[1])
    for (const line of lines) {
      const colon = line.indexOf(':')
      this.headers.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim())
    }
    this.#start += end + 4
    this.#headDone = true
  }

  #takeFrame(): Frame | null {
    if (!this.#headDone) return null
    const bytes = this.#buffer()
    if (bytes.length < 2) return null
    let length = bytes[1]! & 0x7f
    const masked = (bytes[1]! & 0x80) !== 0
    let at = 2
    if (length === 126) {
      if (bytes.length < 4) return null
      length = bytes.readUInt16BE(2)
      at = 4
    } else if (length === 127) {
      if (bytes.length < 10) return null
      length = Number(bytes.readBigUInt64BE(2))
      at = 10
    }
    if (masked) at += 4
    if (bytes.length < at + length) return null
    const first = bytes[0]!
    const frame: Frame = {
      fin: (first & 0x80) !== 0, rsv1: (first & 0x40) !== 0, rsv2: (first & 0x20) !== 0, rsv3: (first & 0x10) !== 0,
      opcode: first & 0x0f, masked, payload: Buffer.from(bytes.subarray(at, at + length)),
    }
    this.#start += at + length
    return frame
  }
}
