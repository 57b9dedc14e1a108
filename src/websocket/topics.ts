/*
 * Pub/sub for one server's sockets: topic → the sockets subscribed. A publish makes its frame once (and its
 * compressed frame once, when a subscriber agreed to permessage-deflate: no context takeover makes one
 * compressed frame right for all of them) and queues that same Buffer on every subscriber; the transport
 * sends each socket's queue in one write when the current read (or tick) ends.
 *
 * Topics are per server, so per worker with `workers`: a message published in one worker reaches the
 * sockets of that worker only. Each worker tells the main thread its per-topic counts as they change
 * (`onCount`), so that the main thread's `server.subscriberCount()` and `server.publish()` count every worker.
 */
import { encodeFrame, Opcode } from './frames.ts'
import { compressMessage } from './deflate.ts'

/** What a subscriber must offer a publish. @internal */
export interface Subscriber {
  /** permessage-deflate's window bits when agreed, else 0. */
  readonly deflateBits: number
  /** Queues a whole frame. @returns false when it was dropped (closed, or past backpressureBytesMax) */
  deliverFrame(frame: Buffer): boolean
}

export class Topics {
  readonly #topics = new Map<string, Set<Subscriber>>()
  readonly #compressBytesMin: number
  /** Told a topic's new number of subscribers whenever it changes. */
  onCount: ((topic: string, count: number) => void) | undefined

  constructor(compressBytesMin: number) {
    this.#compressBytesMin = compressBytesMin
  }

  subscribe(topic: string, subscriber: Subscriber): void {
    let set = this.#topics.get(topic)
    if (set === undefined) this.#topics.set(topic, (set = new Set()))
    const size = set.size
    set.add(subscriber)
    if (set.size !== size) this.onCount?.(topic, set.size)
  }

  unsubscribe(topic: string, subscriber: Subscriber): void {
    const set = this.#topics.get(topic)
    if (set === undefined || !set.delete(subscriber)) return
    if (set.size === 0) this.#topics.delete(topic)
    this.onCount?.(topic, set.size)
  }

  /** Sockets subscribed to `topic`. */
  count(topic: string): number {
    return this.#topics.get(topic)?.size ?? 0
  }

  /**
   * Sends `payload` to every subscriber of `topic` but `except`.
   * @returns the number of sockets it was queued for
   */
  publish(topic: string, payload: string | Uint8Array, compress: boolean, except: Subscriber | undefined): number {
    const set = this.#topics.get(topic)
    if (set === undefined) return 0
    const opcode = typeof payload === 'string' ? Opcode.text : Opcode.binary
    const worthCompressing = compress && (typeof payload === 'string' ? payload.length : payload.byteLength) >= this.#compressBytesMin
    let plain: Buffer | undefined
    const compressed: (Buffer | undefined)[] = []
    let reached = 0
    for (const subscriber of set) {
      if (subscriber === except) continue
      const bits = subscriber.deflateBits
      let frame: Buffer
      if (worthCompressing && bits !== 0) frame = compressed[bits] ??= encodeFrame(opcode, compressMessage(payload, bits), true)
      else frame = plain ??= encodeFrame(opcode, payload)
      if (subscriber.deliverFrame(frame)) reached++
    }
    return reached
  }
}
