/*
 * `openChannel()`: the factory for the three kinds of channel, all with one interface (Channel, ./types.ts):
 * between threads (SharedArrayBuffer) and between processes (a named shared-memory object), both a
 * RingChannel (./channel.ts), and over TCP: where the transport backend drives sockets with system calls (its `rawSockets` capability) a SocketChannel that the calling thread
 * drives itself (./socket-channel.ts), elsewhere a ring bridged to the socket by a thread (./tcp-channel.ts). The kinds know nothing of each other; this file chooses by the options given.
 */
import { ChannelInUseError, ChannelNotFoundError, SystemCallError } from '../errors.ts'
import { channelLimitSpecs, limitOrDefault } from '../limits.ts'
import { attachChannel, RingChannel, channelBytes, H, HEADER_BYTES, initializeChannel, MAGIC, processExists, threadChannel } from './channel.ts'
import { mapShared, threadSleeper, type Mapping } from './memory.ts'
import { backendChoice } from '../tcp/backends.ts'
import { openSocketChannel } from './socket-channel.ts'
import { openTcpChannel } from './tcp-channel.ts'
import type { Channel, ChannelOptions, ProcessChannelOptions, TcpChannelOptions, ThreadChannelOptions, ThreadPeerChannelOptions } from './types.ts'

/**
 * Opens one side of a channel: between threads without a `name` (side A makes the SharedArrayBuffer;
 * side B passes it as `memory`), between processes with one, between machines with a `port`.
 * @throws RangeError for a capacity that is not a power of two; ChannelIncompatibleError for a mismatched
 *   build; KoffiMissingError without koffi; ChannelInUseError for a name whose creator runs
 * @example
 * const channel = await openChannel({ name: '/wirespeed-demo', bytes: 1 << 20, create: true })
 */
export async function openChannel(options?: ThreadChannelOptions | ThreadPeerChannelOptions | ProcessChannelOptions): Promise<RingChannel>
export async function openChannel(options: TcpChannelOptions): Promise<Channel>
export async function openChannel(options?: ChannelOptions): Promise<Channel>
export async function openChannel(options: ChannelOptions = {}): Promise<Channel> {
  const batch = limitOrDefault('batch', options.batch, channelLimitSpecs.batch)
  if (options.memory !== undefined) return attachChannel(options.memory, batch, threadSleeper)
  const capacity = limitOrDefault('bytes', options.bytes, channelLimitSpecs.bytes)
  if (options.port !== undefined) {
    // Where the transport drives sockets with system calls (src/tcp/backends.ts), the calling thread owns the
    // socket the same way (socket-channel.ts); elsewhere a bridge thread does, behind a thread channel
    // (tcp-channel.ts).
    const tcp = { ...options, bytes: capacity, batch }
    return (await backendChoice()).capabilities.rawSockets ? openSocketChannel(tcp) : openTcpChannel(tcp)
  }
  if (options.name === undefined) return threadChannel(capacity, batch)
  return openProcessChannel(options, capacity, batch)
}

async function openProcessChannel(options: ProcessChannelOptions, capacity: number, batch: number): Promise<RingChannel> {
  const name = options.name
  const create = options.create ?? true
  if (create) await refuseLiveCreator(name)
  const mapping = await mapShared(name, channelBytes(capacity), create)
  if (create) {
    initializeChannel(mapping.buffer, capacity)
    const channel = new RingChannel(mapping.buffer, 'A', capacity, batch, mapping.sleeper, mapping, name)
    channel.attachCreator()
    return channel
  }
  try {
    const channel = attachChannel(mapping.buffer, batch, mapping.sleeper, mapping, name)
    await channel.claim(5000)
    return channel
  } catch (error) {
    mapping.unmap()
    throw error
  }
}

/**
 * A named channel whose creator still runs is not replaced: that would cut the creator off from its peers
 * while it went on serving, and unlink the new one when either exits. Only a dead creator's object (or one
 * that is not a channel of this build) is taken over.
 * @throws ChannelInUseError naming the creator's process
 */
async function refuseLiveCreator(name: string): Promise<void> {
  let existing: Mapping
  try {
    existing = await mapShared(name, 0, false)
  } catch (error) {
    // None there, or one that cannot be mapped (being created this instant, or not ours): nothing to protect.
    if (error instanceof ChannelNotFoundError || error instanceof SystemCallError) return
    throw error
  }
  try {
    if (existing.buffer.byteLength < HEADER_BYTES) return
    const header = new Int32Array(existing.buffer, 0, HEADER_BYTES / 4)
    if (header[H.magic] !== MAGIC) return
    const pid = Atomics.load(header, H.pidA)
    if (pid !== 0 && Atomics.load(header, H.closedA) === 0 && processExists(pid)) {
      throw new ChannelInUseError(`Channel ${name} is in use: its creator, process ${pid}, is running; pick another name or stop that process`, pid)
    }
  } finally {
    existing.unmap()
  }
}
