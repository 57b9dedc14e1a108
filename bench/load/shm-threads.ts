/*
 * Ping-pong between two threads of one process: through a wirespeed thread channel (SharedArrayBuffer),
 * and through node's MessagePort (postMessage). Prints one JSON line per contender.
 *   node bench/load/shm-threads.ts COUNT
 */
import { MessageChannel, Worker } from 'node:worker_threads'
import { openChannel } from '../../src/index.ts'

const count = Number(process.argv[2] ?? 1_000_000)
const isMain = !process.env.WIRESPEED_BENCH_WORKER

if (isMain) {
  // wirespeed channel
  const channel = await openChannel({ bytes: 1 << 16 })
  const worker = new Worker(new URL(import.meta.url), { argv: [String(count)], env: { ...process.env, WIRESPEED_BENCH_WORKER: 'sab' }, workerData: channel.memory })
  await new Promise((resolve) => worker.once('online', resolve))
  const message = new Uint8Array(11)
  const reply = new Uint8Array(11)
  const view = new DataView(message.buffer)
  let errors = 0
  let started = performance.now()
  for (let i = 0; i < count; i++) {
    view.setUint32(0, i, true)
    channel.send(message)
    channel.receiveInto(reply, 10_000)
    if (reply[0] !== message[0] || reply[1] !== message[1]) errors++
  }
  let seconds = (performance.now() - started) / 1000
  process.stdout.write(`${JSON.stringify({ contender: 'wirespeed thread channel', roundtrips: count, seconds, perSecond: count / seconds, errors })}\n`)
  await new Promise((resolve) => worker.once('exit', resolve))
  channel.close()

  // MessagePort
  const portCount = Math.max(1000, Math.floor(count / 20))
  const { port1, port2 } = new MessageChannel()
  const portWorker = new Worker(new URL(import.meta.url), { env: { ...process.env, WIRESPEED_BENCH_WORKER: 'port' }, workerData: port2, transferList: [port2] })
  await new Promise((resolve) => portWorker.once('online', resolve))
  started = performance.now()
  await new Promise<void>((resolve) => {
    let i = 0
    port1.on('message', () => {
      if (++i === portCount) return resolve()
      port1.postMessage(message)
    })
    port1.postMessage(message)
  })
  seconds = (performance.now() - started) / 1000
  process.stdout.write(`${JSON.stringify({ contender: 'MessagePort', roundtrips: portCount, seconds, perSecond: portCount / seconds, errors: 0 })}\n`)
  port1.close()
  await portWorker.terminate()
} else {
  const { workerData } = await import('node:worker_threads')
  if (process.env.WIRESPEED_BENCH_WORKER === 'sab') {
    const channel = await openChannel({ memory: workerData as SharedArrayBuffer })
    const buffer = new Uint8Array(64)
    for (let i = 0; i < count; i++) channel.send(buffer, channel.receiveInto(buffer, 10_000))
    channel.close()
  } else {
    const port = workerData as import('node:worker_threads').MessagePort
    port.on('message', (message: Uint8Array) => port.postMessage(message))
  }
}
