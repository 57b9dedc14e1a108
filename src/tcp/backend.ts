/*
 * What a transport backend implements, after `listen()`/`connect()` (./listen.ts) have checked the options,
 * resolved the host and chosen the backend. A backend reports what it meets as ListenError and ConnectError,
 * with the system's code as `reason`.
 */
import { ListenError } from '../errors.ts'
import type { Stages } from './stages.ts'
import type { Backend, Connection, Handlers, Listener, StringEncoding } from './types.ts'

export interface BackendListenOptions<Data> {
  /** A resolved address; '' with a Unix socket `path`. */
  host: string
  port: number
  path: string | undefined
  reusePort: boolean
  backlog: number | undefined
  idleTimeoutMs: number
  writeBufferBytesHigh: number
  stringEncoding: StringEncoding
  handlers: Handlers<Data>
  /** The chain before open, or undefined when it is empty (then `handlers.open` runs at accept). */
  stages: Stages<Data> | undefined
}

export interface BackendConnectOptions<Data> {
  /** The address to dial (resolved); '' with a Unix socket `path`. */
  host: string
  /**
   * The host name the caller gave, when it was a name (not an IP literal): kept beside the address it
   * resolved to, as undici keeps `servername`, for TLS's SNI and certificate check (issue 37).
   */
  servername: string | undefined
  port: number
  path: string | undefined
  writeBufferBytesHigh: number
  handlers: Handlers<Data>
}

export interface TransportBackend {
  readonly name: Backend
  listen<Data>(options: BackendListenOptions<Data>): Promise<Listener<Data>>
  connect<Data>(options: BackendConnectOptions<Data>): Promise<Connection<Data>>
}

/** The ListenError for a failed bind, saying what the system's code means for the person running it. */
export function listenError(code: string | undefined, detail: string, host: string, port: number, cause?: unknown): ListenError {
  const why =
    code === 'EADDRINUSE' ? 'the port is in use; pass another port (0 picks a free one) or stop what holds it'
    : code === 'EACCES' ? 'permission denied; ports below 1024 need privileges'
    : code === 'EADDRNOTAVAIL' ? 'the address is not on this machine'
    : (code ?? detail)
  return new ListenError(`Cannot listen on ${host}:${port}: ${why}`, code ?? 'UNKNOWN', { cause })
}

/** The ListenError for a failed bind on a Unix socket path, which has no port to speak of. */
export function listenPathError(code: string | undefined, detail: string, path: string, cause?: unknown): ListenError {
  const why =
    code === 'EADDRINUSE' ? 'something is already there: a server listening, or a socket file one left behind (remove it if nothing listens)'
    : code === 'EACCES' ? 'permission denied (its folder must exist and let us create files)'
    : code === 'ENOENT' ? 'its folder does not exist'
    : (code ?? detail)
  return new ListenError(`Cannot listen on ${path}: ${why}`, code ?? 'UNKNOWN', { cause })
}
