/*
 * The bridge thread of a TCP channel (see tcp-channel.ts): side B of the caller's thread channel on one
 * end, one TCP connection carrying length-prefixed frames on the other.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { ChannelClosedError, FrameError, PeerGoneError } from '../errors.ts'
import { FrameDecoder, writeFrame } from '../tcp/framing.ts'
import { connect, listen } from '../tcp/listen.ts'
import type { Connection, Handlers } from '../tcp/types.ts'
import { attachChannel } from './channel.ts'
import { threadSleeper } from './memory.ts'

/** What the caller's thread gives the bridge (tcp-channel.ts); the bridge imports nothing of that file. */
export interface BridgeSetup {
  memory: SharedArrayBuffer
  host: string
  port: number
  listen: boolean
  frameBytesMax: number
}

const setup = workerData as BridgeSetup
const channel = attachChannel(setup.memory, 1, threadSleeper)
const decoder = new FrameDecoder(setup.frameBytesMax)
let connection: Connection<undefined> | undefined
let onAccept: () => void = () => {}

const handlers: Handlers<undefined> = {
  data(_connection, bytes) {
    try {
      decoder.push(bytes, (message) => channel.send(message))
    } catch (error) {
      if (!(error instanceof FrameError) && !(error instanceof PeerGoneError)) throw error
      _connection.destroy()
    }
  },
  close() {
    if (!channel.closed) {
      channel.flush()
      channel.close()
    }
  },
}

// A function, not top-level await: a bridge ended with its process must not warn about unsettled awaits.
async function main(): Promise<void> {
  try {
    if (setup.listen) {
      const listener = await listen({ host: setup.host, port: setup.port, handlers: { ...handlers, open: (accepted) => accept(accepted) } })
      parentPort!.postMessage({ type: 'listening', port: listener.port })
      // One peer per channel: once it is here, stop accepting.
      await new Promise<void>((resolve) => (onAccept = resolve))
      void listener.close()
    } else {
      connection = await connect({ host: setup.host, port: setup.port, handlers })
    }
    parentPort!.postMessage({ type: 'connected' })
  } catch (error) {
    parentPort!.postMessage({ type: 'failed', message: (error as Error).message })
    channel.close()
    process.exit(1)
  }

  function accept(accepted: Connection<undefined>): void {
    if (connection !== undefined) return accepted.destroy()
    connection = accepted
    onAccept()
  }

  // The caller's messages, out to the socket as frames, until either side closes: what is waiting is taken
  // without a promise per message; past the socket's mark, the batch is flushed and the bridge waits for the
  // socket to drain (backpressure reaches the caller through its ring).
  try {
    const socket = connection!
    for (;;) {
      let message: Uint8Array | undefined = await channel.receiveAsync()
      while (message !== undefined) {
        if (!writeFrame(socket, message)) {
          socket.flush()
          while (socket.writeBlocked && !socket.closed) await new Promise((resolve) => setTimeout(resolve, 1))
        }
        message = channel.tryReceive()
      }
    }
  } catch (error) {
    if (!(error instanceof PeerGoneError) && !(error instanceof ChannelClosedError)) throw error
    connection!.end()
  }
}

void main()
