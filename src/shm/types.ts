/* The options of `openChannel()`, one interface per kind of channel, so the compiler rejects a process
 * name on a thread channel or a port on a process one. */

interface CommonChannelOptions {
  /** Data bytes of each ring: a power of two (default 1 MiB). Messages may be up to half of it. */
  bytes?: number
  /** Publish every `batch` messages (default 1: at once); `flush()` publishes the rest. */
  batch?: number
}

/**
 * Side A of a channel between threads: a fresh SharedArrayBuffer; hand `channel.memory` to the worker.
 * @example
 * const channel = await openChannel({ bytes: 1 << 16 })
 */
export interface ThreadChannelOptions extends CommonChannelOptions {
  name?: undefined
  port?: undefined
  memory?: undefined
}

/**
 * Side B of a channel between threads: the `memory` of side A's channel.
 * @example
 * const channel = await openChannel({ memory: workerData.memory })
 */
export interface ThreadPeerChannelOptions {
  memory: SharedArrayBuffer
  batch?: number
  name?: undefined
  port?: undefined
}

/**
 * A channel between processes: a named shared-memory object (through the optional koffi).
 * @example
 * const channel = await openChannel({ name: '/wirespeed-demo', create: true })
 */
export interface ProcessChannelOptions extends CommonChannelOptions {
  /** "/" then letters, digits, ".", "_" or "-". */
  name: string
  /** Create the channel (side A), or open one made by the other side (B). Default: create. */
  create?: boolean
  port?: undefined
  memory?: undefined
}

/**
 * A channel over TCP (length-prefixed frames), with the same interface: `listen: true` accepts one peer on
 * host:port, otherwise it connects to host:port.
 * @example
 * const channel = await openChannel({ port: 7000, host: '10.0.0.2' })
 */
export interface TcpChannelOptions extends CommonChannelOptions {
  port: number
  host?: string
  listen?: boolean
  /** With `listen`: called with the port once listening (useful with port 0). */
  onListening?: (port: number) => void
  name?: undefined
  memory?: undefined
}

export type ChannelOptions = ThreadChannelOptions | ThreadPeerChannelOptions | ProcessChannelOptions | TcpChannelOptions
