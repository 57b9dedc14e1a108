/*
 * Every default limit of wirespeed, with its unit and the reason for its size.
 *
 * A server facing a network must put a bound on everything a peer can make it hold: bytes, counts and time.
 * Each limit here is a named option; `resolveLimits()` merges a caller's overrides with these defaults and
 * checks each value against its allowed range when the server is created, so a typo fails at start-up
 * ("Invalid option headerBytesMax: expected an integer from 256 to 1048576, got 12") instead of at 3 a.m.
 */

/** One limit: its default, and the range a caller may set it to (both ends included). */
type LimitSpec = { readonly value: number; readonly min: number; readonly max: number }

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
  /** Time a connection may stay backed up (the peer not reading our replies) before it is destroyed. */
  sendTimeoutMs: { value: 30_000, min: 1, max: 3_600_000 },
  /** Open connections per server (per worker). Past it, a new connection gets 503 and is closed. */
  connectionsMax: { value: 10_000, min: 1, max: 1_000_000 },
  /** How long `close()` waits for in-flight responses before it destroys what is left. */
  shutdownTimeoutMs: { value: 10_000, min: 0, max: 3_600_000 },
  /** Bytes queued for one socket before `write()` reports backpressure and reading pauses. */
  writeBufferBytesHigh: { value: 64 * 1024, min: 1024, max: 1 << 30 },
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
    checkInteger(name, value, limitSpecs[name as LimitName])
    limits[name] = value
  }
  return limits as Limits
}

/** Throws a RangeError unless `value` is an integer within `range` (both ends included). */
export function checkInteger(name: string, value: unknown, range: { min: number; max: number }): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < range.min || value > range.max) {
    throw new RangeError(
      `Invalid option ${name}: expected an integer from ${range.min} to ${range.max}, got ${String(value)}`,
    )
  }
}
