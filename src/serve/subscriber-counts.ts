/*
 * The main thread's view of a multi-core server's WebSocket topics: how many sockets each worker has
 * subscribed to each topic, as the workers report it. Each worker posts a topic's new count when it changes
 * (batched to one message per turn of its event loop: src/serve/serve-worker.ts), so the main thread's
 * `server.subscriberCount()` and `server.publish()`'s count cover every worker without asking them, and
 * knows which workers hold a topic at all (what a publish that crosses workers needs to skip the others).
 *
 *   topic → [ count on worker 0, count on worker 1, … ]   (a topic no worker holds is deleted)
 *
 * A worker sends absolute counts, not changes, so a lost or late report is mended by the next one. Memory is
 * bounded by `topicsTrackedMax` topics: past it, a new topic is left out of the counts (said once in the log)
 * until a tracked one loses its last subscriber. The counts lag the workers by one message.
 */

export class SubscriberCounts {
  readonly #topics = new Map<string, number[]>()
  readonly #workers: number
  readonly #topicsMax: number
  readonly #log: (line: string) => void
  #warned = false

  constructor(workers: number, topicsMax: number, log: (line: string) => void) {
    this.#workers = workers
    this.#topicsMax = topicsMax
    this.#log = log
  }

  /** Takes worker `index`'s report: each topic with its new number of subscribers on that worker. */
  update(index: number, counts: readonly (readonly [string, number])[]): void {
    for (const [topic, count] of counts) {
      let perWorker = this.#topics.get(topic)
      if (perWorker === undefined) {
        if (count === 0) continue
        if (this.#topics.size >= this.#topicsMax) {
          if (!this.#warned) this.#log(`wirespeed: more than ${this.#topicsMax} WebSocket topics have subscribers; server.subscriberCount() and publish()'s count leave out the others (limits.topicsTrackedMax)`)
          this.#warned = true
          continue
        }
        this.#topics.set(topic, (perWorker = new Array<number>(this.#workers).fill(0)))
      }
      perWorker[index] = count
      if (count === 0 && perWorker.every((each) => each === 0)) this.#topics.delete(topic)
    }
  }

  /** Worker `index` is gone, and its sockets with it. */
  forget(index: number): void {
    for (const [topic, perWorker] of this.#topics) {
      perWorker[index] = 0
      if (perWorker.every((each) => each === 0)) this.#topics.delete(topic)
    }
  }

  /** Sockets subscribed to `topic` on every worker, as last reported. */
  count(topic: string): number {
    let total = 0
    for (const each of this.#topics.get(topic) ?? []) total += each
    return total
  }

  /** Topics tracked (at most topicsTrackedMax). */
  get size(): number {
    return this.#topics.size
  }
}
