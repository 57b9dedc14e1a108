/*
 * `trustProxy`: who the client is when the peer is a proxy that says so in `X-Forwarded-For`, with the
 * semantics of Express's `trust proxy` (the proxy-addr package) and Fastify's `trustProxy`.
 *
 * The option is compiled once into a function of (address, hop) where hop 0 is the socket's peer, hop 1
 * the address that peer put rightmost in X-Forwarded-For, and so on leftwards:
 *   false (the default)   trust nobody: the client is the socket's peer, and the headers change nothing
 *   true                  trust every hop: the client is the leftmost X-Forwarded-For entry
 *   a number n            trust the first n hops (the socket's peer is hop 0)
 *   addresses, CIDRs, presets (an array, or one comma-separated string): trust the hops whose address is one
 *   a function            (address, hop) => boolean, called right to left
 *
 *   socket peer ◀── X-Forwarded-For: client, proxy2, proxy1
 *   hop 0           hop 3    hop 2   hop 1
 *   trusted? ──▶ trusted? ──▶ ... the first hop not trusted (or the leftmost entry) is the client
 *
 * Protocol and host are taken the same way, from the proxy nearest the client that is trusted: with k
 * trusted proxies walked, the k-th X-Forwarded-Proto (and X-Forwarded-Host) entry from the right, or the
 * leftmost when a proxy replaced the header instead of appending to it (nginx's
 * `proxy_set_header X-Forwarded-Proto $scheme` does). Express reads the leftmost entry, which a client
 * writes itself when the proxy appends; Fastify reads the rightmost, which describes the hop between two
 * proxies when there are several. With one proxy that sets the header, all three agree. A value that is not
 * a URL scheme (RFC 3986 §3.1) or a host[:port] is ignored, as if the header were absent.
 *
 * Pure: no socket, no request object; the HTTP layer passes the socket's address and the three headers'
 * values. Worst case: one split of each header and one trust check per X-Forwarded-For entry (the header's
 * size is bounded by `headerBytesMax`).
 */
import { compileTrusted } from './trusted.ts'

/** Tells whether the hop at `hop` (0: the socket's peer) with `address` is a proxy to believe. */
export type TrustFunction = (address: string, hop: number) => boolean

/**
 * What `trustProxy` accepts (Express's `trust proxy`, Fastify's `trustProxy`).
 * @example
 * serve({ trustProxy: 'loopback' })
 * serve({ trustProxy: ['10.0.0.0/8', 'fd00::/8'] })
 * serve({ trustProxy: 1 }) // the socket's peer only
 */
export type TrustProxy = boolean | number | string | readonly string[] | TrustFunction

const trustNone: TrustFunction = () => false
const trustAll: TrustFunction = () => true

/**
 * Compiles the option once (Express's compileTrust): a TypeError names a bad entry.
 * @example
 * const trust = compileTrustProxy('loopback, 10.0.0.0/8')
 * trust('10.2.3.4', 1) // true
 */
export function compileTrustProxy(option: TrustProxy | undefined, optionName = 'trustProxy'): TrustFunction {
  if (option === undefined || option === false) return trustNone
  if (option === true) return trustAll
  if (typeof option === 'function') return option
  if (typeof option === 'number') {
    if (!Number.isInteger(option) || option < 0) throw new RangeError(`Invalid option ${optionName}: expected a hop count from 0, got ${option}`)
    return (_address, hop) => hop < option
  }
  if (typeof option === 'string' || Array.isArray(option)) {
    const matches = compileTrusted(option as string | readonly string[], optionName)
    return (address) => matches(address)
  }
  throw new TypeError(`Invalid option ${optionName}: expected a boolean, a hop count, addresses or a function, got ${typeof option}`)
}

/** The headers `resolveForwarded()` reads, as the request carries them (several lines joined with ", "). */
export interface ForwardedHeaders {
  readonly forwardedFor?: string | undefined
  readonly forwardedProto?: string | undefined
  readonly forwardedHost?: string | undefined
  /** The request's own Host header: the host when no trusted proxy names one. */
  readonly host?: string | undefined
}

/** Who the client is, as far as the trusted proxies tell. */
export interface Forwarded {
  /** The client's address (Express's `req.ip`). */
  readonly ip: string | undefined
  /** The addresses walked, client first, the socket's peer left out (Express's `req.ips`); [] when no hop is trusted. */
  readonly ips: readonly string[]
  /** 'http' or 'https' from the socket, or what the nearest trusted proxy said (lowercased). */
  readonly protocol: string
  /** Host (with its port if given) from the nearest trusted proxy, or the Host header. */
  readonly host: string | undefined
}

const SCHEME = /^[a-zA-Z][a-zA-Z0-9+.-]*$/
// A reg-name, IPv4 or [IPv6] host, and an optional port (RFC 3986 §3.2.2): no spaces, slashes, @ or commas.
const HOST = /^(?:\[[0-9a-fA-F:.]+\]|[a-zA-Z0-9._~!$&'()*+;=%-]+)(?::[0-9]{1,5})?$/

/**
 * Resolves client address, protocol and host from the socket and the forwarding headers.
 * @param trust a function from `compileTrustProxy()`
 * @param peerAddress the socket's `remoteAddress` (after a PROXY header, the address it named)
 * @param encrypted whether the socket is TLS (the protocol when no trusted proxy says otherwise)
 * @example
 * resolveForwarded(compileTrustProxy('loopback'), '127.0.0.1', false, { forwardedFor: '203.0.113.7' }).ip // '203.0.113.7'
 */
export function resolveForwarded(trust: TrustFunction, peerAddress: string | undefined, encrypted: boolean, headers: ForwardedHeaders): Forwarded {
  const socketProtocol = encrypted ? 'https' : 'http'
  if (peerAddress === undefined || trust === trustNone || !trust(peerAddress, 0)) {
    return { ip: peerAddress, ips: [], protocol: socketProtocol, host: headers.host }
  }
  // addresses[0] is the socket's peer, then X-Forwarded-For right to left (proxy-addr's `forwarded()`).
  const addresses = [peerAddress]
  if (headers.forwardedFor !== undefined) {
    const entries = headers.forwardedFor.split(',')
    for (let i = entries.length - 1; i >= 0; i--) {
      const entry = entries[i]!.trim()
      if (entry !== '') addresses.push(entry)
    }
  }
  // hop 0 is trusted (checked above); walk on while the hop is trusted and there is one further left.
  let client = 0
  while (client < addresses.length - 1 && (client === 0 || trust(addresses[client]!, client))) client++
  const ips = addresses.slice(1, client + 1).reverse()
  // The trusted proxies are hops 0 to client - 1 (at least the socket's peer).
  const proxies = Math.max(client, 1)
  const protocol = nearest(headers.forwardedProto, proxies, SCHEME)?.toLowerCase() ?? socketProtocol
  const host = nearest(headers.forwardedHost, proxies, HOST) ?? headers.host
  return { ip: addresses[client], ips, protocol, host }
}

/** The entry written by the `proxies`-th trusted proxy from the right, or the leftmost if fewer; undefined if not valid. */
function nearest(header: string | undefined, proxies: number, valid: RegExp): string | undefined {
  if (header === undefined) return undefined
  const entries = header.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '')
  if (entries.length === 0) return undefined
  const entry = entries[Math.max(0, entries.length - proxies)]!
  return valid.test(entry) ? entry : undefined
}
