/*
 * `listen()` and `connect()`: TCP servers and clients whose connections share one handlers object. This is
 * the facade over the transport backends (the registry, ./backends.ts, chooses one): it checks the options,
 * resolves the host, and hands the backend a complete set of options. Host names resolve through `node:dns` (getaddrinfo) before
 * the socket is made, so a name that does not resolve fails with a message naming it.
 */
import { lookup } from 'node:dns/promises'
import { isIP } from 'node:net'
import { HostNotFoundError } from '../errors.ts'
import { checkLimit, defaultLimits, limitOrDefault, limitSpecs, tcpLimitSpecs } from '../limits.ts'
import { requireNode } from '../runtime.ts'
import { type BackendNeeds, chooseBackend } from './backends.ts'
import type { Stages } from './stages.ts'
import type { ConnectOptions, Connection, Listener, ListenOptions } from './types.ts'

/** The first Node whose net.Server.listen() takes reusePort. */
export const REUSE_PORT_NODE = '22.12'

/**
 * Starts a TCP server.
 * @example
 * const listener = await listen({ port: 7000, handlers: { data(connection, bytes) { connection.write(bytes) } } })
 * await listener.close()
 */
export async function listen<Data = unknown>(options: ListenOptions<Data>): Promise<Listener<Data>> {
  const port = options.path === undefined && options.fd === undefined ? options.port : 0
  checkLimit('port', port, tcpLimitSpecs.port)
  if (options.reusePort) requireNode('reusePort', REUSE_PORT_NODE)
  const writeBufferBytesHigh = options.writeBufferBytesHigh ?? defaultLimits.writeBufferBytesHigh
  checkLimit('writeBufferBytesHigh', writeBufferBytesHigh, limitSpecs.writeBufferBytesHigh)
  const idleTimeoutMs = options.idleTimeoutMs ?? 0
  checkLimit('idleTimeoutMs', idleTimeoutMs, tcpLimitSpecs.idleTimeoutMs)
  if (options.backlog !== undefined) checkLimit('backlog', options.backlog, tcpLimitSpecs.backlog)
  const stages = stagesOf(options)
  // An inherited socket needs a backend that can adopt one; none can yet (issue 39), so this says so.
  const needs: BackendNeeds = options.fd === undefined ? {} : { adoptFd: 'the fd option' }
  const { backend, reason } = await chooseBackend({ asked: options.backend, needs })
  const listener = await backend.listen({
    // A Unix socket has no host: its path goes in `path`, never in `host`.
    host: options.path === undefined ? await resolveHost(options.host ?? '127.0.0.1') : '',
    port,
    path: options.path,
    reusePort: options.reusePort ?? false,
    backlog: options.backlog,
    idleTimeoutMs,
    writeBufferBytesHigh,
    stringEncoding: options.stringEncoding ?? 'utf8',
    handlers: options.handlers,
    stages,
  })
  return { ...listener, backendReason: reason }
}

/**
 * Opens a TCP connection; resolves once it is established (after `handlers.open`).
 * @example
 * const connection = await connect({ port: 7000, handlers: { data(connection, bytes) { console.log(bytes) } } })
 * connection.write('ping')
 */
export async function connect<Data = unknown>(options: ConnectOptions<Data>): Promise<Connection<Data>> {
  if (options.path === undefined) checkLimit('port', options.port, tcpLimitSpecs.connectPort)
  const writeBufferBytesHigh = options.writeBufferBytesHigh ?? defaultLimits.writeBufferBytesHigh
  checkLimit('writeBufferBytesHigh', writeBufferBytesHigh, limitSpecs.writeBufferBytesHigh)
  const host = options.host ?? '127.0.0.1'
  return (await chooseBackend({ asked: options.backend })).backend.connect({
    host: options.path === undefined ? await resolveHost(host) : '',
    servername: options.path === undefined && !isIpLiteral(host) ? host : undefined,
    port: options.port,
    path: options.path,
    writeBufferBytesHigh,
    handlers: options.handlers,
  })
}

/** The chain before open with its bounds checked, or undefined when there is none (nothing to run per connection). */
function stagesOf<Data>(options: ListenOptions<Data>): Stages<Data> | undefined {
  const timeoutMs = limitOrDefault('stageTimeoutMs', options.stageTimeoutMs, tcpLimitSpecs.stageTimeoutMs)
  const bytesMax = limitOrDefault('stageBytesMax', options.stageBytesMax, tcpLimitSpecs.stageBytesMax)
  if (options.stages === undefined || options.stages.length === 0) return undefined
  return { list: [...options.stages], handlers: options.handlers, timeoutMs, bytesMax }
}

function isIpLiteral(host: string): boolean {
  return isIP(host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host) !== 0
}

/** Resolves a host name to one address with getaddrinfo; an IP literal is returned as it is. */
export async function resolveHost(host: string): Promise<string> {
  const literal = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host
  if (isIP(literal) !== 0) return literal
  try {
    return (await lookup(literal)).address
  } catch (error) {
    throw new HostNotFoundError(`Cannot resolve host ${host}: ${(error as NodeJS.ErrnoException).code ?? error}`, { cause: error })
  }
}
