/*
 * The TCP channel's ping-pong for `npm run bench -- shm`: this process listens (side A, pinned to core 1 by
 * the runner), starts its peer (side B, `echo` mode, on core 0), and sends one 11-byte message at a time,
 * checking every reply. Prints one JSON line. WIRESPEED_BACKEND picks the kind: epoll, the caller's own
 * socket; node, the bridge thread.
 *   node bench/load/tcp-channel-pingpong.ts COUNT
 */
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { openChannel } from '../../src/index.ts'
import { which } from '../lib/measure.ts'

const [mode, ...rest] = process.argv.slice(2)
if (mode === 'echo') {
  const [port, count] = rest.map(Number)
  const channel = await openChannel({ port: port! })
  const buffer = new Uint8Array(64)
  for (let i = 0; i < count!; i++) channel.send(buffer, channel.receiveInto(buffer))
  channel.flush()
  await new Promise((resolve) => setTimeout(resolve, 50))
  channel.close()
} else {
  const count = Number(mode)
  const taskset = which('taskset')
  let peer: ReturnType<typeof spawn> | undefined
  const channel = await openChannel({
    port: 0,
    listen: true,
    onListening(port) {
      const argv = [process.execPath, fileURLToPath(import.meta.url), 'echo', String(port), String(count + 1000)]
      peer = spawn(taskset ?? argv[0]!, taskset ? ['-c', '0', ...argv] : argv.slice(1), { stdio: 'inherit' })
    },
  })
  const message = new Uint8Array(11)
  const reply = new Uint8Array(64)
  const view = new DataView(message.buffer)
  let errors = 0
  const roundtrip = (i: number) => {
    view.setUint32(0, i, true)
    channel.send(message)
    const length = channel.receiveInto(reply)
    if (length !== 11 || new DataView(reply.buffer).getUint32(0, true) !== i) errors++
  }
  for (let i = 0; i < 1000; i++) roundtrip(i) // warm-up, not timed
  const started = performance.now()
  for (let i = 0; i < count; i++) roundtrip(i)
  const seconds = (performance.now() - started) / 1000
  console.log(JSON.stringify({ count, seconds, perSecond: count / seconds, errors }))
  await new Promise((resolve) => peer!.once('exit', resolve))
  channel.close()
}
