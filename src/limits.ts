/*
 * Every default limit of wirespeed, with its unit and the reason for its size.
 *
 * A server facing a network must put a bound on everything a peer can make it hold: bytes, counts and time.
 * Each limit here is a named option, grouped by area (HTTP, TCP, WebSocket, static files, watching, channels, threads),
 * with its unit last in its name. `resolveLimits()` merges a caller's HTTP overrides with these defaults;
 * every other area checks its options with `checkLimit()` against the same table when the object is made, so
 * a typo fails at start-up ("Invalid option headerBytesMax: expected an integer from 256 to 1048576, got 12")
 * instead of at 3 a.m.
 */

/** One limit: its default, and the range a caller may set it to (both ends included). */
export type LimitSpec = { readonly value: number; readonly min: number; readonly max: number; readonly powerOfTwo?: boolean }

// HTTP: `serve({ limits })`, validated by resolveLimits().
export const limitSpecs = {
  /** Request line ("GET /path HTTP/1.1") in bytes. Longer targets get 414. 8 KiB is what nginx allows by default. */
  requestLineBytesMax: { value: 8192, min: 64, max: 1 << 20 },
  /** All header lines of one request in bytes (request line excluded). Over it: 431. 16 KiB, as Node's http. */
  headerBytesMax: { value: 16384, min: 256, max: 1 << 20 },
  /** Header fields in one request. Over it: 431. 100 is ten times what browsers send. */
  headerCountMax: { value: 100, min: 1, max: 10_000 },
  /** Body bytes of one request (after chunked decoding). Over it: 413. 1 MiB; raise it for uploads. */
  bodyBytesMax: { value: 1 << 20, min: 0, max: 2 ** 40 },
  /** Requests read ahead on one connection before their replies leave. Past it, reading pauses (no error). */
  pipelineDepthMax: { value: 64, min: 1, max: 10_000 },
  /** Time from a request's first byte to the end of its headers. Slower: 408 and close (slowloris). */
  headersTimeoutMs: { value: 10_000, min: 1, max: 3_600_000 },
  /** Time from the end of the headers to the end of the body, measured whole. Slower: 408 and close. */
  bodyTimeoutMs: { value: 30_000, min: 1, max: 3_600_000 },
  /** Time a keep-alive connection may wait for its next request. Then it is closed without a reply. */
  idleTimeoutMs: { value: 5_000, min: 1, max: 3_600_000 },
  /**
   * Time a connection may stay backed up (the peer not reading our replies) before it is destroyed.
   * Progress is seen when the kernel takes more bytes, in steps of what it frees while the peer reads
   * (measured on loopback: a client reading steadily at 1 MB/s gets a 25 MB body whole with 2 s). A client
   * that stops reading for a while is stalled for that while: `curl --limit-rate 1M` reads a burst into the
   * kernel's buffers, then sleeps for seconds to bring its average down, and is cut by a 2 s timeout, not
   * by the default. Keep it above the longest pause a legitimate client makes.
   */
  sendTimeoutMs: { value: 30_000, min: 1, max: 3_600_000 },
  /** Open connections per server (per worker). Past it, a new connection gets 503 and is closed. */
  connectionsMax: { value: 10_000, min: 1, max: 1_000_000 },
  /** How long `close()` waits for in-flight responses before it destroys what is left. */
  shutdownTimeoutMs: { value: 10_000, min: 0, max: 3_600_000 },
  /** Bytes queued for one socket before `write()` reports backpressure and reading pauses. */
  writeBufferBytesHigh: { value: 64 * 1024, min: 1024, max: 1 << 30 },
  /**
   * With `workers`: WebSocket topics whose subscriber counts the main thread keeps (each worker reports its
   * counts as they change), for `server.subscriberCount()` and `server.publish()`'s count. Past it, a new
   * topic is left out of both (said once in the log) until a tracked one loses its last subscriber.
   * 65,536 topics with two workers is a few MiB on the main thread.
   */
  topicsTrackedMax: { value: 65_536, min: 0, max: 1 << 24 },
} as const satisfies Record<string, LimitSpec>

// TCP: `listen()` and `connect()`.
export const tcpLimitSpecs = {
  /** Port to listen on; 0 picks a free one. */
  port: { value: 0, min: 0, max: 65535 },
  /** Port to connect to. */
  connectPort: { value: 0, min: 1, max: 65535 },
  /** Idle timeout of a raw TCP connection (0: none). The largest delay a Node timer takes. */
  idleTimeoutMs: { value: 0, min: 0, max: 2 ** 31 - 1 },
  /** Connections accepted by the kernel but not yet by us. 511 is Node's and nginx's default. */
  backlog: { value: 511, min: 1, max: 65535 },
  /** Bytes of one framed message (FrameDecoder). 1 MiB; the 4-byte length field allows up to 2^32 - 1. */
  messageBytesMax: { value: 1 << 20, min: 0, max: 2 ** 32 - 1 },
  /**
   * Time from accept to the end of a connection's stages before open (a PROXY header, a TLS handshake: see
   * src/tcp/stages.ts). Slower: closed, before any protocol sees a byte. 10 s, as headersTimeoutMs.
   */
  stageTimeoutMs: { value: 10_000, min: 1, max: 3_600_000 },
  /**
   * Bytes a connection's stages may take before open: consumed, or held while a stage waits for more.
   * Past it: closed. 16 KiB holds a PROXY v2 header with its TLVs and a TLS ClientHello.
   */
  stageBytesMax: { value: 16 * 1024, min: 1, max: 1 << 20 },
} as const satisfies Record<string, LimitSpec>

// WebSocket: `serve({ websocket: { messageBytesMax, … } })`, checked when the server starts.
export const webSocketLimitSpecs = {
  /** Bytes of one message, all its frames, after decompression. Over it: close 1009. 16 MiB, as Bun's maxPayloadLength. */
  messageBytesMax: { value: 16 << 20, min: 125, max: 2 ** 31 - 1 },
  /** Bytes of one frame's payload, refused from its header before any of it is read. Over it: close 1009. */
  frameBytesMax: { value: 16 << 20, min: 125, max: 2 ** 31 - 1 },
  /** Bytes queued for one socket past which `send()` and `publish()` drop a message (send returns 0). 16 MiB, as Bun. */
  backpressureBytesMax: { value: 16 << 20, min: 1024, max: 2 ** 31 - 1 },
  /** Nothing received and nothing delivered for this long: close 1001. A ping goes out at half of it. 120 s, as Bun; 0: none. */
  idleTimeoutMs: { value: 120_000, min: 0, max: 3_600_000 },
  /** How long after our close frame the peer has to answer with its own before the connection is dropped. */
  closeTimeoutMs: { value: 5_000, min: 1, max: 600_000 },
  /** Messages shorter than this are sent uncompressed even with permessage-deflate (deflate makes them longer). */
  compressBytesMin: { value: 64, min: 0, max: 2 ** 31 - 1 },
} as const satisfies Record<string, LimitSpec>

// Static files: `serve({ static })`, `new StaticFiles()`.
export const staticLimitSpecs = {
  /** Files up to this size are kept in memory; larger ones stream from disk. 1 MiB keeps the cache for the many small files. */
  fileBytesMax: { value: 1 << 20, min: 0, max: 1 << 30 },
  /**
   * Bytes of file bodies kept in memory, least recently used evicted, counting the copies in /dev/shm that
   * the epoll backend sends bodies above 16 KiB from (src/static/memory-file.ts). 64 MiB holds a typical site whole.
   */
  cacheBytesMax: { value: 64 << 20, min: 0, max: 2 ** 40 },
  /**
   * Compressible files from this size on get compressed variants (brotli, zstd, gzip), counted in
   * cacheBytesMax. Below 1 KiB a reply and its head fit one TCP segment (MSS 1460) either way, so
   * compressing it saves no round trip, only a few hundred bytes (Hono's and @fastify/compress's threshold too).
   */
  compressBytesMin: { value: 1024, min: 0, max: 1 << 30 },
  /**
   * Files too large to hold that are compressed as they stream, at once. Each zlib stream holds about
   * 0.3-1.5 MiB (src/static/compress.ts), so 16 bound that at ~24 MiB; past it a client that accepts
   * identity gets the file as it is, one that refuses identity 503 with Retry-After.
   */
  compressStreamsMax: { value: 16, min: 0, max: 65_536 },
  /**
   * Entries a directory listing shows (`directoryListing`). The folder is read only this far (one stat per
   * entry shown), so a folder of a million files costs what a thousand do; 1000 is a page a person can scroll.
   */
  listingEntriesMax: { value: 1000, min: 0, max: 100_000 },
} as const satisfies Record<string, LimitSpec>

// Watching: `watch()`.
export const watchLimitSpecs = {
  /** Changes are gathered for this long after the first one, then reported together. 20 ms: an editor's save is one batch. */
  debounceMs: { value: 20, min: 0, max: 60_000 },
  /** Folders watched (one handle each on Linux). Past it: one `rescan` for the root. */
  foldersMax: { value: 10_000, min: 1, max: 1_000_000 },
  /** Names queued within one debounce window. Past it: one `rescan` for the root. */
  eventsMax: { value: 10_000, min: 1, max: 1_000_000 },
} as const satisfies Record<string, LimitSpec>

// Channels: `openChannel()`.
export const channelLimitSpecs = {
  /** Bytes of each ring (one each way): a power of two. 1 MiB; a message may be half of it. */
  bytes: { value: 1 << 20, min: 64, max: 2 ** 30, powerOfTwo: true },
  /** Messages sent before the sender publishes them (1: at once). Batching trades latency for throughput. */
  batch: { value: 1, min: 1, max: 1 << 20 },
} as const satisfies Record<string, LimitSpec>

// Threads: `spawn()`.
export const threadLimitSpecs = {
  /** How long join() waits before the thread is terminated (no default: unbounded unless given). */
  timeoutMs: { value: 0, min: 1, max: 2 ** 31 - 1 },
  /** Old-generation heap of the thread in MiB (no default: Node's). */
  heapMbMax: { value: 0, min: 1, max: 1 << 20 },
} as const satisfies Record<string, LimitSpec>

// PROXY protocol: `proxyProtocol` on `serve()` and `listen()` (src/proxy).
export const proxyLimitSpecs = {
  /**
   * Bytes of one PROXY protocol v2 header, its 16-byte prefix included. The format allows 16 + 65535; what
   * balancers send is far less (addresses: 12 to 216 bytes, then TLVs: an AWS endpoint id, HAProxy's SSL
   * block with a client certificate's CN, a 128-byte unique id), so 4 KiB takes every real header and
   * bounds what a peer makes us hold before it has proved anything. The minimum takes an AF_UNIX header
   * (16 + 216). A v1 header has its own bound, fixed by the spec: 107 bytes (PROXY_V1_BYTES_MAX).
   */
  proxyHeaderBytesMax: { value: 4096, min: 232, max: 16 + 65535 },
} as const satisfies Record<string, LimitSpec>

export type LimitName = keyof typeof limitSpecs
export type Limits = { readonly [K in LimitName]: number }

/** The defaults as a plain object. */
export const defaultLimits: Limits = Object.fromEntries(
  Object.entries(limitSpecs).map(([name, spec]) => [name, spec.value]),
) as Limits

/**
 * Merges `overrides` into the defaults, validating each given value.
 * @throws RangeError naming the option, the allowed range and the value
 * @example
 * const limits = resolveLimits({ headerBytesMax: 32768 })
 */
export function resolveLimits(overrides: Partial<Limits> = {}): Limits {
  const limits: Record<string, number> = { ...defaultLimits }
  for (const [name, value] of Object.entries(overrides)) {
    if (value === undefined) continue
    if (!Object.hasOwn(limitSpecs, name)) {
      throw new RangeError(`Unknown limit ${name}: expected one of ${Object.keys(limitSpecs).join(', ')}`)
    }
    checkLimit(name, value, limitSpecs[name as LimitName])
    limits[name] = value
  }
  return limits as Limits
}

/**
 * Throws a RangeError unless `value` is an integer within `spec`'s range (both ends included), and a power
 * of two where the spec says so.
 * @example
 * checkLimit('debounceMs', 20, watchLimitSpecs.debounceMs)
 */
export function checkLimit(name: string, value: unknown, spec: Pick<LimitSpec, 'min' | 'max' | 'powerOfTwo'>): void {
  const integer = typeof value === 'number' && Number.isInteger(value) && value >= spec.min && value <= spec.max
  if (integer && (!spec.powerOfTwo || (value & (value - 1)) === 0)) return
  const what = spec.powerOfTwo ? 'a power of two' : 'an integer'
  throw new RangeError(`Invalid option ${name}: expected ${what} from ${spec.min} to ${spec.max}, got ${String(value)}`)
}

/**
 * Throws a TypeError naming the first key of `options` that is not one of `names` (a misspelt or misplaced
 * option would otherwise be ignored without a word). Keys whose value is undefined are let through, as a
 * caller spreading optional settings leaves them. Only a plain object is checked: a class instance (a
 * handlers object with state of its own) may carry fields of its own.
 * @example
 * checkOptionNames('static', { root: '.', gzip: true }, ['root']) // TypeError: Unknown option static.gzip: expected one of root
 */
export function checkOptionNames(prefix: string, options: object, names: readonly string[]): void {
  const prototype = Object.getPrototypeOf(options)
  if (prototype !== Object.prototype && prototype !== null) return
  for (const [name, value] of Object.entries(options)) {
    if (value !== undefined && !names.includes(name)) throw new TypeError(`Unknown option ${prefix}.${name}: expected one of ${names.join(', ')}`)
  }
}

/** `given` when set (checked against `spec`), else the spec's default. */
export function limitOrDefault(name: string, given: number | undefined, spec: LimitSpec): number {
  if (given === undefined) return spec.value
  checkLimit(name, given, spec)
  return given
}
