/*
 * `proxyStage()`: the PROXY protocol as a stage before open (src/tcp/stages.ts): every connection on the listener must begin with a PROXY header from a trusted
 * peer; the stage reads it, sets the peer the protocol will see to the header's source, and hands the
 * bytes after it on. A peer outside `trusted`, or a header that is malformed or too long, destroys the
 * connection before any protocol sees a byte of it (the spec, §2, forbids guessing whether a header is
 * there, so there is no fallback to "no header").
 *
 * The time bound is the chain's own (`stageTimeoutMs`); the byte bound is ours (`proxyHeaderBytesMax`, and
 * 107 for v1), checked on every arrival, before the chain's `stageBytesMax` (which must be at least as
 * large for the v2 limit to be the one that applies). `serve({ proxyProtocol })` and `listen({ proxyProtocol })`
 * are not wired yet: today a listener takes the stage through the internal `stages` option.
 */
import { checkLimit, proxyLimitSpecs } from '../limits.ts'
import { readProxyHeader } from './read-proxy-header.ts'
import { compileTrusted } from './trusted.ts'
import type { ProxyHeader } from './types.ts'
import { STAGE_MORE, type Stage, type StageConnection } from '../tcp/stages.ts'

export { STAGE_MORE }
export type { Stage, StageConnection }

/** `proxyProtocol` on `serve()` and `listen()`. */
export interface ProxyProtocolOptions {
  /** Peers allowed to send a header: addresses, CIDR blocks, presets (`loopback`...). Others are closed. */
  trusted: readonly string[]
  /** The longest v2 header (default 4096, src/limits.ts). */
  headerBytesMax?: number
  /** Called with each header read, before the protocol opens (to keep TLVs: ALPN, SSL, unique id). */
  onHeader?: (header: ProxyHeader, connection: StageConnection) => void
  /** Called when a connection is refused, with why (for logs). */
  onRefused?: (reason: string, connection: StageConnection) => void
}

/**
 * Makes the stage (options are checked here, once per listener).
 * @example
 * listen({ port: 8080, stages: [proxyStage({ trusted: ['10.0.0.0/8'] })], handlers })
 */
export function proxyStage(options: ProxyProtocolOptions): Stage {
  if (typeof options !== 'object' || options === null) throw new TypeError('Invalid option proxyProtocol: expected an object with trusted addresses')
  if (!Array.isArray(options.trusted) || options.trusted.length === 0) {
    throw new TypeError('Invalid option proxyProtocol.trusted: expected a non-empty array of addresses and CIDR blocks (a PROXY header from anyone is a forged address)')
  }
  const trusted = compileTrusted(options.trusted, 'proxyProtocol.trusted')
  const headerBytesMax = options.headerBytesMax ?? proxyLimitSpecs.proxyHeaderBytesMax.value
  checkLimit('proxyProtocol.headerBytesMax', headerBytesMax, proxyLimitSpecs.proxyHeaderBytesMax)
  const { onHeader, onRefused } = options
  const refuse = (connection: StageConnection, reason: string): number => {
    onRefused?.(reason, connection)
    connection.destroy()
    return 0
  }
  return {
    name: 'PROXY header',
    take(bytes, connection) {
      // Checked on every arrival (cheap): the first is what matters, the peer does not change.
      if (!trusted(connection.remoteAddress)) return refuse(connection, `Peer ${connection.remoteAddress} is not in proxyProtocol.trusted`)
      const read = readProxyHeader(bytes, headerBytesMax)
      if (read.state === 'more') return STAGE_MORE
      if (read.state === 'error') return refuse(connection, read.reason)
      const { header } = read
      // LOCAL (health checks), UNSPEC and AF_UNIX sources keep the socket's real endpoints.
      if (header.command === 'proxy' && header.source?.address !== undefined) connection.setPeer(header.source.address, header.source.port)
      onHeader?.(header, connection)
      return read.consumed
    },
  }
}
