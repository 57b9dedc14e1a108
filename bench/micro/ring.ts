/*
 * Micro-benchmark: Ring.send and Ring.receiveInto on one thread (no cross-core traffic), 11-byte messages
 * in batches of 30: the per-message cost of the code itself.
 *   node bench/micro/ring.ts [messages]
 */
import { RingChannel } from '../../src/shm/channel.ts'
import { Ring, ringBytes } from '../../src/shm/ring.ts'

const messages = Number(process.argv[2] ?? 30_000_000)
const memory = new SharedArrayBuffer(ringBytes(1 << 20))
const producer = new Ring(memory, 0, 1 << 20, 30)
const consumer = new Ring(memory, 0, 1 << 20)
const message = new Uint8Array(11)
const target = new Uint8Array(64)
let sink = 0
for (let round = 0; round < 3; round++) {
  const started = performance.now()
  for (let i = 0; i < messages; i += 30) {
    for (let j = 0; j < 30; j++) {
      message[0] = j
      producer.send(message)
    }
    for (let j = 0; j < 30; j++) sink += consumer.receiveInto(target)
  }
  const ns = ((performance.now() - started) * 1e6) / messages
  console.log(`ring send+receive: ${ns.toFixed(1)} ns per message (${(1000 / ns).toFixed(1)} M messages/s on one thread)`)
}
if (sink === 42) console.log(RingChannel.name)
