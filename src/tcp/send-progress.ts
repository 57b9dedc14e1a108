/*
 * SendProgress: how a server judges a peer that stops reading. A connection that owes bytes is cut only
 * when the peer has taken none of them for the whole send timeout, however slowly it reads otherwise: the
 * server's sweep asks `stalled()` at each pass, and progress is the kernel's count of bytes taken
 * (`connection.sentBytes`) moving between passes. Used by every protocol a server speaks (HTTP, WebSocket).
 */
import type { Connection } from './types.ts'

export class SendProgress {
  /** `connection.sentBytes` at the last pass, and when it last moved (or nothing was owed). */
  #sentAtSweep = -1
  #progressAt: number

  constructor(now: number) {
    this.#progressAt = now
  }

  /** @returns true when `connection` owes bytes and its peer has taken none for longer than `timeoutMs` */
  stalled(connection: Connection<unknown>, now: number, timeoutMs: number): boolean {
    if (connection.bufferedBytes === 0) {
      this.#progressAt = now
      return false
    }
    const sent = connection.sentBytes
    if (sent !== this.#sentAtSweep) {
      this.#sentAtSweep = sent
      this.#progressAt = now
      return false
    }
    return now - this.#progressAt > timeoutMs
  }
}
