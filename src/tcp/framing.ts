/*
 * Length-prefixed messages over a byte stream: each frame is a 4-byte big-endian length, then that many
 * bytes.
 *
 *   | length u32 BE | payload (length bytes) | length u32 BE | payload ... |
 *
 * A frame may be split or merged across reads at any byte. `FrameDecoder.push()` hands each complete
 * payload to the sink as a view of the read that holds it, with no copy, when the whole frame sits inside
 * one read; only a frame split across reads is gathered, into one buffer allocated at its full size once
 * its length is known (so a split frame costs one copy, never repeated concatenation). A length over
 * `messageBytesMax` is refused at once, before its bytes arrive: a `FrameError` naming the limit, after
 * which the stream cannot be trusted and the connection should close.
 */
import { FrameError } from '../errors.ts'
import { checkLimit, tcpLimitSpecs } from '../limits.ts'
import type { Connection } from './types.ts'

export const FRAME_HEADER_BYTES = 4


/**
 * Reassembles frames from reads.
 * @example
 * const decoder = new FrameDecoder(1 << 20)
 * decoder.push(bytes, (message) => console.log(message.length))
 */
export class FrameDecoder {
  readonly messageBytesMax: number
  /** The header bytes of a frame split inside its header. */
  readonly #header = Buffer.alloc(FRAME_HEADER_BYTES)
  #headerHeld = 0
  /** The payload being gathered across reads, and how much of it has arrived. */
  #payload: Buffer | null = null
  #payloadHeld = 0

  constructor(messageBytesMax: number) {
    checkLimit('messageBytesMax', messageBytesMax, tcpLimitSpecs.messageBytesMax)
    this.messageBytesMax = messageBytesMax
  }

  /** True while part of a frame is held, waiting for the rest. */
  get partial(): boolean {
    return this.#headerHeld > 0 || this.#payload !== null
  }

  /**
   * Consumes one read, calling `sink` for each complete message in order.
   * @throws FrameError when a frame announces more than messageBytesMax bytes
   */
  push(bytes: Buffer, sink: (message: Buffer) => void): void {
    let position = 0
    const end = bytes.length
    while (position < end) {
      if (this.#payload !== null) {
        // Gathering a split payload: take what this read has of it.
        const payload = this.#payload
        const take = Math.min(payload.length - this.#payloadHeld, end - position)
        bytes.copy(payload, this.#payloadHeld, position, position + take)
        this.#payloadHeld += take
        position += take
        if (this.#payloadHeld === payload.length) {
          this.#payload = null
          sink(payload)
        }
        continue
      }
      let length: number
      if (this.#headerHeld === 0 && end - position >= FRAME_HEADER_BYTES) {
        length = bytes.readUInt32BE(position)
        position += FRAME_HEADER_BYTES
      } else {
        const take = Math.min(FRAME_HEADER_BYTES - this.#headerHeld, end - position)
        bytes.copy(this.#header, this.#headerHeld, position, position + take)
        this.#headerHeld += take
        position += take
        if (this.#headerHeld < FRAME_HEADER_BYTES) return
        this.#headerHeld = 0
        length = this.#header.readUInt32BE(0)
      }
      if (length > this.messageBytesMax) {
        throw new FrameError(`Frame of ${length} bytes exceeds messageBytesMax (${this.messageBytesMax} bytes)`)
      }
      if (end - position >= length) {
        sink(bytes.subarray(position, position + length))
        position += length
      } else {
        this.#payload = Buffer.allocUnsafe(length)
        this.#payloadHeld = 0
      }
    }
  }
}

/** Writes one frame (header and payload leave in the connection's batch, with no copy of the payload). */
export function writeFrame(connection: Connection<unknown>, message: Uint8Array): boolean {
  const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES)
  header.writeUInt32BE(message.length, 0)
  connection.write(header)
  return connection.write(message)
}

/** One frame as a single buffer (header and payload). */
export function encodeFrame(message: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + message.length)
  frame.writeUInt32BE(message.length, 0)
  frame.set(message, FRAME_HEADER_BYTES)
  return frame
}
