/*
 * One-way streaming between two processes through a wirespeed process channel: COUNT messages of 11 bytes,
 * published every BATCH messages; the consumer checks each message's sequence number.
 *   node bench/load/shm-stream.ts consume NAME COUNT          (side B; replies "count,errors")
 *   node bench/load/shm-stream.ts produce NAME COUNT BATCH    (side A; prints one JSON line)
 */
import { openChannel } from '../../src/index.ts'

const [role, name, countText, batchText] = process.argv.slice(2)
const count = Number(countText)
if (role === 'produce') {
  const batch = Number(batchText)
  const channel = await openChannel({ name, bytes: 1 << 20, batch, create: true })
  process.stdout.write('ready\n')
  while (!channel.peerAttached) await new Promise((resolve) => setTimeout(resolve, 1))
  const message = new Uint8Array(11)
  const started = performance.now()
  for (let i = 0; i < count; i++) {
    message[0] = i
    message[1] = i >>> 8
    message[2] = i >>> 16
    message[3] = i >>> 24
    channel.send(message)
  }
  channel.flush()
  const [, errors] = new TextDecoder().decode(channel.receive(60_000)).split(',')
  const seconds = (performance.now() - started) / 1000
  process.stdout.write(`${JSON.stringify({ contender: `wirespeed process channel, batch ${batch}`, messages: count, seconds, perSecond: count / seconds, errors: Number(errors) })}\n`)
  channel.close()
} else {
  const channel = await openChannel({ name, create: false })
  const buffer = new Uint8Array(64)
  let errors = 0
  for (let i = 0; i < count; i++) {
    channel.receiveInto(buffer, 60_000)
    if ((buffer[0]! | (buffer[1]! << 8) | (buffer[2]! << 16) | (buffer[3]! << 24)) !== (i | 0)) errors++
  }
  channel.send(new TextEncoder().encode(`${count},${errors}`))
  channel.flush()
  await new Promise((resolve) => setTimeout(resolve, 100))
  channel.close()
}
