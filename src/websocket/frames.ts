/*
 * WebSocket frames as the server sends them (RFC 6455 §5.2): never masked, never fragmented, one Buffer per
 * frame with the head and the payload together, so that a message is one `connection.write()` and a
 * published frame is the same Buffer queued on every subscriber.
 *
 *    0                   1                   2                   3
 *   +-+-+-+-+-------+-+-------------+-------------------------------+
 *   |F|R|R|R| opcode|M| length 0-125|  126: 16-bit length follows   |
 *   |I|S|S|S|  (4)  |A|  126 or 127 |  127: 64-bit length follows   |
 *   |N|V|V|V|       |S|             |  (network order)              |
 *   | |1|2|3|       |K|             |                               |
 *   +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
 *   |  payload ...  (a client's frames also carry a 4-byte mask key before it)
 */
import type { WebSocketData } from './types.ts'

/** A message as a frame's payload: text stays a string, any bytes become a Uint8Array view (no copy). */
export function bytesOf(data: WebSocketData): string | Uint8Array {
  if (typeof data === 'string') return data
  if (data instanceof Uint8Array) return data
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
  if (typeof data === 'object' && data !== null) return new Uint8Array(data as ArrayBuffer)
  throw new TypeError(`Invalid message: expected a string, an ArrayBuffer or a view of one, got ${typeof data}`)
}

/** RFC 6455 §5.2 and §11.8. */
export const Opcode = { continuation: 0, text: 1, binary: 2, close: 8, ping: 9, pong: 10 } as const

/** RFC 6455 §7.4.1 and §7.4.2: the close codes an endpoint may send or receive. */
export const CloseCode = {
  normal: 1000,
  goingAway: 1001,
  protocolError: 1002,
  unsupportedData: 1003,
  noStatus: 1005,
  abnormal: 1006,
  invalidPayload: 1007,
  policyViolation: 1008,
  tooBig: 1009,
  internalError: 1011,
} as const

/**
 * True for a code that may appear in a close frame (RFC 6455 §7.4): 1000-1003, 1007-1014 (1012-1014 are
 * registered with IANA since), and 3000-4999 for libraries and applications. 1004, 1005, 1006 and 1015 never
 * go on the wire.
 */
export function isValidCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999)
}

function headBytes(length: number): number {
  return length < 126 ? 2 : length < 65536 ? 4 : 10
}

function writeHead(frame: Buffer, first: number, length: number): number {
  frame[0] = first
  if (length < 126) {
    frame[1] = length
    return 2
  }
  if (length < 65536) {
    frame[1] = 126
    frame.writeUInt16BE(length, 2)
    return 4
  }
  frame[1] = 127
  frame.writeUInt32BE(Math.floor(length / 2 ** 32), 2)
  frame.writeUInt32BE(length >>> 0, 6)
  return 10
}

/**
 * One final frame holding `payload`. `rsv1` marks a compressed message (RFC 7692 §6). A string payload is
 * written as UTF-8 straight into the frame.
 */
export function encodeFrame(opcode: number, payload: string | Uint8Array, rsv1 = false): Buffer {
  const first = 0x80 | (rsv1 ? 0x40 : 0) | opcode
  if (typeof payload === 'string') {
    const length = Buffer.byteLength(payload)
    const frame = Buffer.allocUnsafe(headBytes(length) + length)
    frame.write(payload, writeHead(frame, first, length), 'utf8')
    return frame
  }
  const length = payload.length
  const frame = Buffer.allocUnsafe(headBytes(length) + length)
  frame.set(payload, writeHead(frame, first, length))
  return frame
}

/** A close frame: the code and a reason (at most 123 bytes of UTF-8, checked by the caller), or empty. */
export function encodeClose(code: number | undefined, reason: string): Buffer {
  if (code === undefined) return Buffer.from([0x88, 0])
  const length = 2 + Buffer.byteLength(reason)
  const frame = Buffer.allocUnsafe(2 + length)
  frame[0] = 0x88
  frame[1] = length
  frame.writeUInt16BE(code, 2)
  frame.write(reason, 4, 'utf8')
  return frame
}

/** XORs `bytes` in place with the 4-byte mask, starting at mask position `offset` (RFC 6455 §5.3). */
export function unmask(bytes: Uint8Array, mask: Uint8Array, offset: number): void {
  const length = bytes.length
  let index = 0
  const m0 = mask[offset & 3]!
  const m1 = mask[(offset + 1) & 3]!
  const m2 = mask[(offset + 2) & 3]!
  const m3 = mask[(offset + 3) & 3]!
  for (; index + 4 <= length; index += 4) {
    bytes[index] ^= m0
    bytes[index + 1] ^= m1
    bytes[index + 2] ^= m2
    bytes[index + 3] ^= m3
  }
  for (let k = 0; index < length; index++, k++) bytes[index] ^= k === 0 ? m0 : k === 1 ? m1 : m2
}
