/*
 * One program, three kinds of channel: the code that talks (pingPong) never changes; only how the channel
 * is opened does. Between threads it is shared memory in one process; between processes, a named
 * shared-memory object; between machines, length-prefixed frames over TCP.
 *   npx node examples/channel.ts thread
 *   npx node examples/channel.ts process      (needs the optional koffi)
 *   npx node examples/channel.ts tcp          (the peer connects to 127.0.0.1; on two machines, give it
 *                                              the server's address instead)
 */
import { Worker } from 'node:worker_threads'
import { openChannel, type Channel } from '../src/index.ts'

/** The part that does not care where the peer is. */
function pingPong(channel: Channel, rounds: number): void {
  const started = performance.now()
  for (let i = 0; i < rounds; i++) {
    channel.send(Uint8Array.of(i & 0xff))
    const reply = channel.receive(5000)
    if (reply[0] !== (i & 0xff)) throw new Error(`Round ${i}: got ${reply[0]}`)
  }
  const seconds = (performance.now() - started) / 1000
  console.log(`${rounds} roundtrips in ${seconds.toFixed(3)} s (${Math.round(rounds / seconds).toLocaleString('en-US')}/s)`)
}

/** The peer's side, the same whatever the kind: echo every message back. */
const peer = `
  import { workerData } from 'node:worker_threads'
  import { openChannel } from ${JSON.stringify(new URL('../src/index.ts', import.meta.url).href)}
  const channel = await openChannel(workerData)
  for (let i = 0; i < workerData.rounds; i++) channel.send(channel.receive(5000))
  channel.flush()
  await new Promise((resolve) => setTimeout(resolve, 100))
  channel.close()
`
function startPeer(options: object): Worker {
  return new Worker(new URL(`data:text/javascript,${encodeURIComponent(peer)}`), { workerData: options })
}

const kind = process.argv[2] ?? 'thread'
const rounds = 10_000
let channel: Channel
if (kind === 'thread') {
  const threadChannel = await openChannel({ bytes: 1 << 16 })
  startPeer({ memory: threadChannel.memory, rounds })
  channel = threadChannel
} else if (kind === 'process') {
  const name = `/wirespeed-example-${process.pid}`
  channel = await openChannel({ name, bytes: 1 << 16, create: true })
  startPeer({ name, create: false, rounds })
} else {
  channel = await openChannel({ port: 0, listen: true, onListening: (port) => startPeer({ port, rounds }) })
}
pingPong(channel, rounds)
channel.close()
