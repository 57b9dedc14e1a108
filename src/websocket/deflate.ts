/*
 * permessage-deflate (RFC 7692): negotiation of the extension's parameters, and one compressor per server.
 *
 * The server always answers with `server_no_context_takeover` and `client_no_context_takeover` (both
 * allowed in a response whatever the offer said: §7.1.1.1, §7.1.1.2). Then no message depends on an earlier
 * one, each direction: the server keeps no deflate or inflate stream per socket (each would hold 32 KiB of
 * window and up to 256 KiB of hash state), a published message is compressed once for every subscriber, and
 * an idle socket costs nothing here. The price is a worse ratio for a stream of small, alike messages.
 *
 * Inflation is bounded: `maxOutputLength` stops a decompression bomb at the message limit (close 1009)
 * before it is ever held whole.
 */
import zlib from 'node:zlib'

/** What was agreed with one client. */
export interface DeflateAgreement {
  /** The value of the Sec-WebSocket-Extensions field of the 101 reply. */
  readonly response: string
  /** The LZ77 window the server may use (server_max_window_bits, else 15). */
  readonly windowBits: number
}

const TRAILER = Buffer.from([0x00, 0x00, 0xff, 0xff])
const SYNC = { finishFlush: zlib.constants.Z_SYNC_FLUSH }
const DEFLATE_OPTIONS = [8, 9, 10, 11, 12, 13, 14, 15].map((windowBits) => ({ windowBits, memLevel: 9, finishFlush: zlib.constants.Z_SYNC_FLUSH }))

/**
 * The first permessage-deflate offer of a Sec-WebSocket-Extensions value that the server can accept, or
 * null when there is none (then the connection goes on without compression). An offer with an unknown or
 * repeated parameter, or a bad value, is declined (§7.1.1); so is `server_max_window_bits=8`, which zlib
 * cannot honour for raw deflate (it widens 8 to 9).
 */
export function negotiateDeflate(header: string | undefined): DeflateAgreement | null {
  if (header === undefined) return null
  for (const offer of header.split(',')) {
    const [name, ...params] = offer.split(';').map((part) => part.trim())
    if (name !== 'permessage-deflate') continue
    const agreed = acceptOffer(params)
    if (agreed !== null) return agreed
  }
  return null
}

function acceptOffer(params: string[]): DeflateAgreement | null {
  const seen = new Set<string>()
  let windowBits = 15
  for (const param of params) {
    const equals = param.indexOf('=')
    const key = (equals < 0 ? param : param.slice(0, equals)).trim()
    let value = equals < 0 ? undefined : param.slice(equals + 1).trim()
    if (value !== undefined && value.length >= 2 && value[0] === '"' && value[value.length - 1] === '"') value = value.slice(1, -1)
    if (seen.has(key)) return null
    seen.add(key)
    switch (key) {
      case 'server_no_context_takeover':
      case 'client_no_context_takeover':
        if (value !== undefined) return null
        break
      case 'server_max_window_bits':
        if (value === undefined || !/^(9|1[0-5])$/.test(value)) return null
        windowBits = Number(value)
        break
      case 'client_max_window_bits':
        // We inflate with a 32 KiB window, which reads what any smaller window made.
        if (value !== undefined && !/^([89]|1[0-5])$/.test(value)) return null
        break
      default:
        return null
    }
  }
  const bits = windowBits === 15 ? '' : `; server_max_window_bits=${windowBits}`
  return { response: `permessage-deflate; server_no_context_takeover; client_no_context_takeover${bits}`, windowBits }
}

/** One message compressed on its own (RFC 7692 §7.2.1: sync flush, without the final 00 00 FF FF). */
export function compressMessage(payload: string | Uint8Array, windowBits: number): Buffer {
  const compressed = zlib.deflateRawSync(payload, DEFLATE_OPTIONS[windowBits - 8])
  const length = compressed.length
  if (length >= 4 && compressed[length - 4] === 0 && compressed[length - 3] === 0 && compressed[length - 2] === 0xff && compressed[length - 1] === 0xff) {
    return compressed.subarray(0, length - 4)
  }
  return compressed
}

/** The outcome of inflating one message. */
export type Inflated = Buffer | 'too-big' | 'corrupt'

/** Inflates one message (RFC 7692 §7.2.2: its bytes with 00 00 FF FF appended), at most `bytesMax` bytes out. */
export function decompressMessage(parts: Buffer[], bytesMax: number): Inflated {
  parts.push(TRAILER)
  try {
    return zlib.inflateRawSync(Buffer.concat(parts), { ...SYNC, maxOutputLength: Math.max(1, bytesMax) })
  } catch (error) {
    return (error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE' ? 'too-big' : 'corrupt'
  } finally {
    parts.pop()
  }
}
