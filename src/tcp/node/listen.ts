/*
 * The node:net backend: portable (every OS Node runs on), and the one that will carry TLS. Each accepted
 * socket is wrapped in a NodeConnection. Sockets are half-open capable: when the peer sends FIN, the
 * handlers decide whether more is written (`handlers.end`); by default the connection is ended in turn.
 */
import { connect as netConnect, createServer, type Server, type Socket } from 'node:net'
import { ConnectError } from '../../errors.ts'
import { listenError, listenPathError, type BackendConnectOptions, type BackendListenOptions, type TransportBackend } from '../backend.ts'
import type { Connection, Listener } from '../types.ts'
import { startStages, stagingHandlers } from '../stages.ts'
import { NodeConnection } from './connection.ts'

async function listenNode<Data>(options: BackendListenOptions<Data>): Promise<Listener<Data>> {
  const { host, port, handlers, writeBufferBytesHigh, idleTimeoutMs, stages } = options
  // With stages, a connection has the staging handlers until its stages are done (../stages.ts).
  const first = stages === undefined ? handlers : stagingHandlers
  const connections = new Set<Connection<Data>>()
  const server = createServer({ allowHalfOpen: true, noDelay: true, highWaterMark: writeBufferBytesHigh })
  server.on('connection', (socket: Socket) => {
    const connection = new NodeConnection(socket, first, writeBufferBytesHigh, options.stringEncoding)
    connections.add(connection)
    socket.once('close', () => connections.delete(connection))
    if (idleTimeoutMs > 0) connection.setTimeout(idleTimeoutMs)
    if (stages === undefined) handlers.open?.(connection)
    else startStages(connection, stages)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(options.path !== undefined ? listenPathError(error.code, error.message, options.path, error) : listenError(error.code, error.message, host, port, error)))
    if (options.path !== undefined) server.listen({ path: options.path, backlog: options.backlog }, resolve)
    else server.listen({ host, port, backlog: options.backlog, reusePort: options.reusePort }, resolve)
  })
  // After start-up, a server error (EMFILE on accept, say) must not crash the process.
  server.on('error', () => {})
  const address = server.address()
  return {
    host,
    port: typeof address === 'object' && address !== null ? address.port : 0,
    path: options.path,
    backend: 'node',
    connections,
    close: () => closeServer(server),
  }
}

async function connectNode<Data>(options: BackendConnectOptions<Data>): Promise<Connection<Data>> {
  const { host, port, path } = options
  const socket = path !== undefined ? netConnect({ path, allowHalfOpen: true }) : netConnect({ host, port, allowHalfOpen: true, noDelay: true })
  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      reject(new ConnectError(`Cannot connect to ${path ?? `${host}:${port}`}: ${error.code ?? error.message}`, error.code ?? 'UNKNOWN', { cause: error }))
    }
    socket.once('error', onError)
    socket.once('connect', () => {
      socket.off('error', onError)
      resolve()
    })
  })
  const connection = new NodeConnection(socket, options.handlers, options.writeBufferBytesHigh)
  options.handlers.open?.(connection)
  return connection
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve()
    server.close(() => resolve())
  })
}

export const nodeBackend: TransportBackend = { name: 'node', listen: listenNode, connect: connectNode }
