/*
 * The frames a client sends, read incrementally (RFC 6455 §5, RFC 7692 §6): bytes in, whole messages and
 * control frames out, to a FrameSink (the socket).
 *
 * Every rule is checked the moment the byte that breaks it arrives, before more is read or held: a frame's
 * head is judged whole (mask, reserved bits, opcode, control frame size and fragmentation, frame and message
 * limits) before any of its payload is read, and the text of an uncompressed message is validated as UTF-8
 * piece by piece, so that a bad sequence fails the connection (1007) in the read that brings it, even in
 * the middle of a frame or across fragments.
 *
 * No copy on the way in: payload is unmasked in place in the read buffer (the transport never writes a read
 * buffer again) and a message that arrives in one read is delivered as a view of it; only messages split
 * across reads or frames are joined. A head split across reads is gathered in 14 bytes made on demand.
 *
 * Worst case held per socket: one message up to messageBytesMax (and, compressed, the inflated copy, bounded
 * by the same limit), plus a control frame's 125 bytes.
 */
import { isUtf8 } from 'node:buffer'
import { CloseCode, isValidCloseCode, Opcode, unmask } from './frames.ts'
import { decompressMessage } from './deflate.ts'

/** Where the reader's results go. */
export interface FrameSink {
  onText(text: string): void
  onBinary(bytes: Buffer): void
  onPing(payload: Buffer): void
  onPong(payload: Buffer): void
  /** A valid close frame arrived: its code (1005 when it had none) and reason. Nothing is read after it. */
  onCloseFrame(code: number, reason: string): void
  /** The client broke the protocol: fail the connection with `code` (RFC 6455 §7.1.7). Nothing is read after it. */
  onFail(code: number, reason: string): void
}

/** The limits a reader enforces. */
export interface ReaderLimits {
  readonly messageBytesMax: number
  readonly frameBytesMax: number
}

const EMPTY = Buffer.alloc(0)

/** Bytes of a head whose second byte is `second`: 2, the extended length, the mask key. */
function headLength(second: number): number {
  const code = second & 0x7f
  return 2 + (code === 126 ? 2 : code === 127 ? 8 : 0) + (second & 0x80 ? 4 : 0)
}

export class FrameReader {
  readonly #sink: FrameSink
  readonly #limits: ReaderLimits
  /** permessage-deflate was agreed: RSV1 marks a compressed message. */
  readonly #deflate: boolean
  #head: Buffer | null = null
  #headHave = 0
  // The frame being read.
  #inPayload = false
  #opcode = 0
  #fin = false
  #frameLength = 0
  #payloadLeft = 0
  readonly #mask = Buffer.allocUnsafe(4)
  // The message being read (opcode 0: none).
  #messageOpcode = 0
  #compressed = false
  /** The opcode of the message that just ended, kept by #endMessage for a compressed one. */
  #compressedOpcode = 0
  #messageBytes = 0
  #parts: Buffer[] | null = null
  #text = ''
  #decoder: TextDecoder | null = null
  #decoding = false
  #control: Buffer | null = null
  #controlHave = 0
  #stopped = false

  constructor(sink: FrameSink, limits: ReaderLimits, deflate: boolean) {
    this.#sink = sink
    this.#limits = limits
    this.#deflate = deflate
  }

  /** True once a close frame or a failure ended reading. */
  get stopped(): boolean {
    return this.#stopped
  }

  /** Reads what `bytes` holds; everything in it that completes a message is delivered before this returns. */
  feed(bytes: Buffer): void {
    const end = bytes.length
    let at = 0
    while (at < end && !this.#stopped) {
      if (!this.#inPayload) {
        at = this.#readHead(bytes, at)
        continue
      }
      const take = Math.min(this.#payloadLeft, end - at)
      const piece = bytes.subarray(at, at + take)
      unmask(piece, this.#mask, this.#frameLength - this.#payloadLeft)
      at += take
      this.#payloadLeft -= take
      if (this.#payloadLeft === 0) this.#inPayload = false
      this.#payload(piece, this.#payloadLeft === 0)
    }
  }

  #readHead(bytes: Buffer, at: number): number {
    const end = bytes.length
    if (this.#headHave === 0 && end - at >= 2) {
      const length = headLength(bytes[at + 1]!)
      if (end - at >= length) {
        this.#startFrame(bytes, at)
        return at + length
      }
    }
    const head = (this.#head ??= Buffer.allocUnsafe(14))
    while (at < end) {
      head[this.#headHave++] = bytes[at++]!
      if (this.#headHave >= 2 && this.#headHave === headLength(head[1]!)) {
        this.#headHave = 0
        this.#startFrame(head, 0)
        return at
      }
    }
    return at
  }

  /** Judges a whole head (RFC 6455 §5.2, §5.5; RFC 7692 §6.1) and starts its frame. */
  #startFrame(head: Buffer, start: number): void {
    const first = head[start]!
    const second = head[start + 1]!
    const fin = (first & 0x80) !== 0
    const rsv1 = (first & 0x40) !== 0
    const opcode = first & 0x0f
    if ((first & 0x30) !== 0) return this.#fail(CloseCode.protocolError, 'Reserved bits RSV2 or RSV3 set, and no extension defines them')
    if ((second & 0x80) === 0) return this.#fail(CloseCode.protocolError, 'Unmasked frame: a client must mask every frame (RFC 6455 §5.1)')
    let length = second & 0x7f
    let at = start + 2
    if (length === 126) {
      length = head.readUInt16BE(at)
      at += 2
    } else if (length === 127) {
      const high = head.readUInt32BE(at)
      if (high >= 0x80000000) return this.#fail(CloseCode.protocolError, 'Frame length with its most significant bit set (RFC 6455 §5.2)')
      length = high * 2 ** 32 + head.readUInt32BE(at + 4)
      at += 8
    }
    const mask = this.#mask
    mask[0] = head[at]!
    mask[1] = head[at + 1]!
    mask[2] = head[at + 2]!
    mask[3] = head[at + 3]!
    if (opcode >= 8) {
      if (opcode > Opcode.pong) return this.#fail(CloseCode.protocolError, `Unknown control opcode ${opcode}`)
      if (!fin) return this.#fail(CloseCode.protocolError, 'Fragmented control frame (RFC 6455 §5.5)')
      if (length > 125) return this.#fail(CloseCode.protocolError, `Control frame of ${length} bytes: at most 125 (RFC 6455 §5.5)`)
      if (rsv1) return this.#fail(CloseCode.protocolError, 'RSV1 set on a control frame (RFC 7692 §6.1)')
    } else {
      if (opcode > Opcode.binary) return this.#fail(CloseCode.protocolError, `Unknown data opcode ${opcode}`)
      if (opcode === Opcode.continuation) {
        if (this.#messageOpcode === 0) return this.#fail(CloseCode.protocolError, 'Continuation frame with no message to continue')
        if (rsv1) return this.#fail(CloseCode.protocolError, 'RSV1 set on a continuation frame (RFC 7692 §6.1)')
      } else {
        if (this.#messageOpcode !== 0) return this.#fail(CloseCode.protocolError, 'A new message began before the fragmented one ended')
        if (rsv1 && !this.#deflate) return this.#fail(CloseCode.protocolError, 'RSV1 set, and permessage-deflate was not agreed')
        this.#messageOpcode = opcode
        this.#compressed = rsv1
        this.#messageBytes = 0
      }
      const limits = this.#limits
      if (length > limits.frameBytesMax) return this.#fail(CloseCode.tooBig, `Frame of ${length} bytes exceeds frameBytesMax (${limits.frameBytesMax})`)
      if (this.#messageBytes + length > limits.messageBytesMax) return this.#fail(CloseCode.tooBig, `Message exceeds messageBytesMax (${limits.messageBytesMax} bytes)`)
    }
    this.#opcode = opcode
    this.#fin = fin
    this.#frameLength = length
    this.#payloadLeft = length
    if (length > 0) this.#inPayload = true
    else this.#payload(EMPTY, true)
  }

  #payload(piece: Buffer, frameDone: boolean): void {
    if (this.#opcode >= 8) return this.#controlPayload(piece, frameDone)
    const whole = frameDone && this.#fin && this.#messageBytes === 0 && this.#parts === null && !this.#decoding
    this.#messageBytes += piece.length
    if (this.#messageOpcode === Opcode.text && !this.#compressed) {
      if (whole) {
        this.#endMessage()
        if (!isUtf8(piece)) return this.#fail(CloseCode.invalidPayload, 'Text message is not valid UTF-8')
        return this.#sink.onText(piece.toString('utf8'))
      }
      this.#decodePiece(piece)
      if (this.#stopped || !frameDone || !this.#fin) return
      return this.#endText()
    }
    if (whole) {
      this.#endMessage()
      return this.#compressed ? this.#inflated([piece]) : this.#sink.onBinary(piece)
    }
    if (piece.length > 0) (this.#parts ??= []).push(piece)
    if (!frameDone || !this.#fin) return
    const parts = this.#parts ?? []
    this.#endMessage()
    if (this.#compressed) return this.#inflated(parts)
    this.#sink.onBinary(parts.length === 1 ? parts[0]! : Buffer.concat(parts))
  }

  /** Validates (and decodes) one piece of an uncompressed text message, failing at its first bad sequence. */
  #decodePiece(piece: Buffer): void {
    const decoder = (this.#decoder ??= new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }))
    this.#decoding = true
    try {
      this.#text += decoder.decode(piece, { stream: true })
    } catch {
      this.#decoder = null
      this.#fail(CloseCode.invalidPayload, 'Text message is not valid UTF-8')
    }
  }

  #endText(): void {
    let text = this.#text
    try {
      text += this.#decoder!.decode()
    } catch {
      this.#decoder = null
      return this.#fail(CloseCode.invalidPayload, 'Text message ends inside a UTF-8 sequence')
    }
    this.#endMessage()
    this.#sink.onText(text)
  }

  #inflated(parts: Buffer[]): void {
    const opcode = this.#compressedOpcode
    const inflated = decompressMessage(parts, this.#limits.messageBytesMax)
    if (inflated === 'too-big') return this.#fail(CloseCode.tooBig, `Message inflates past messageBytesMax (${this.#limits.messageBytesMax} bytes)`)
    if (inflated === 'corrupt') return this.#fail(CloseCode.invalidPayload, 'Compressed message is not valid deflate data')
    if (opcode === Opcode.binary) return this.#sink.onBinary(inflated)
    if (!isUtf8(inflated)) return this.#fail(CloseCode.invalidPayload, 'Text message is not valid UTF-8')
    this.#sink.onText(inflated.toString('utf8'))
  }

  #endMessage(): void {
    this.#compressedOpcode = this.#messageOpcode
    this.#messageOpcode = 0
    this.#messageBytes = 0
    this.#parts = null
    this.#text = ''
    this.#decoding = false
  }

  #controlPayload(piece: Buffer, frameDone: boolean): void {
    let payload = piece
    if (!frameDone || this.#controlHave > 0) {
      const control = (this.#control ??= Buffer.allocUnsafe(125))
      piece.copy(control, this.#controlHave)
      this.#controlHave += piece.length
      if (!frameDone) return
      payload = control.subarray(0, this.#controlHave)
      this.#controlHave = 0
    }
    if (this.#opcode === Opcode.ping) return this.#sink.onPing(payload)
    if (this.#opcode === Opcode.pong) return this.#sink.onPong(payload)
    this.#closeFrame(payload)
  }

  /** RFC 6455 §5.5.1, §7.1.5, §7.4. */
  #closeFrame(payload: Buffer): void {
    if (payload.length === 1) return this.#fail(CloseCode.protocolError, 'Close frame with a 1-byte body: a code takes 2')
    if (payload.length === 0) {
      this.#stopped = true
      return this.#sink.onCloseFrame(CloseCode.noStatus, '')
    }
    const code = payload.readUInt16BE(0)
    if (!isValidCloseCode(code)) return this.#fail(CloseCode.protocolError, `Invalid close code ${code}`)
    const reason = payload.subarray(2)
    if (!isUtf8(reason)) return this.#fail(CloseCode.invalidPayload, 'Close reason is not valid UTF-8')
    this.#stopped = true
    this.#sink.onCloseFrame(code, reason.toString('utf8'))
  }

  #fail(code: number, reason: string): void {
    this.#stopped = true
    this.#parts = null
    this.#text = ''
    this.#sink.onFail(code, reason)
  }
}
