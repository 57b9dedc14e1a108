/*
 * A channel over TCP with the same interface as the shared-memory channels, so that code moves from one
 * machine to several by changing only how its channel is opened.
 *
 * The caller gets an ordinary thread Channel (side A of a SharedArrayBuffer). Its side B lives in a bridge
 * worker thread (tcp-bridge.ts) that owns the socket: messages the caller sends are read there without
 * blocking (Channel.receiveAsync) and written as length-prefixed frames (src/tcp/framing.ts); frames that
 * arrive are sent into the caller's ring. So `receive()` blocks on shared memory exactly as for threads,
 * and the socket's event loop never waits on the caller. When the connection ends, the bridge closes its
 * side and the caller's waits end with PeerGoneError; when the caller closes, the bridge ends the socket.
 */
import { Worker } from 'node:worker_threads'
import { BridgeError } from '../errors.ts'
import { threadChannel } from './channel.ts'
import type { Channel, TcpChannelOptions } from './types.ts'
import type { BridgeSetup } from './tcp-bridge.ts'

const bridge = new URL(import.meta.url.endsWith('.ts') ? './tcp-bridge.ts' : './tcp-bridge.js', import.meta.url)

/** The caller's side of a TCP channel; `bytes` and `batch` are checked already (openChannel). */
export async function openTcpChannel(options: TcpChannelOptions & { bytes: number; batch: number }): Promise<Channel> {
  const channel = threadChannel(options.bytes, options.batch)
  const setup: BridgeSetup = {
    memory: channel.memory as SharedArrayBuffer,
    host: options.host ?? '127.0.0.1',
    port: options.port,
    listen: options.listen ?? false,
    frameBytesMax: channel.messageBytesMax,
  }
  const worker = new Worker(bridge, { workerData: setup })
  worker.unref()
  await new Promise<void>((resolve, reject) => {
    worker.on('message', (message: { type: 'listening'; port: number } | { type: 'connected' } | { type: 'failed'; message: string }) => {
      if (message.type === 'listening') options.onListening?.(message.port)
      else if (message.type === 'connected') resolve()
      else reject(new BridgeError(message.message))
    })
    worker.once('error', reject)
    worker.once('exit', (code) => reject(new BridgeError(`The TCP bridge exited with code ${code} before connecting`)))
  })
  return channel
}
