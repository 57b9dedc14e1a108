/*
 * The epoll backend (Linux): listening and connecting sockets made with socket(2) and driven by this
 * thread's EpollLoop, all through koffi. Nonblocking throughout; TCP_NODELAY on every TCP connection;
 * SO_REUSEADDR always and SO_REUSEPORT when asked (worker threads share a port).
 *
 * Accepting: a ready listening fd is drained with accept4 (at most ACCEPTS_PER_EVENT per turn, so a flood
 * of connections cannot starve the ones already open). EMFILE or ENFILE (out of descriptors) take the
 * listener out of the interest set for ACCEPT_BACKOFF_MS instead of spinning on an fd that stays ready;
 * the connections waiting stay in the kernel's backlog.
 */
import { unlinkSync } from 'node:fs'
import { ConnectError } from '../../errors.ts'
import { listenError, listenPathError, type BackendConnectOptions, type BackendListenOptions, type TransportBackend } from '../backend.ts'
import type { Connection, Listener } from '../types.ts'
import { startStages, stagingHandlers } from '../stages.ts'
import { EpollConnection } from './connection.ts'
import {
  EAGAIN, EINPROGRESS, EINTR, EMFILE, ENFILE, EPOLLERR, EPOLLIN, EPOLLOUT, errnoName, IPPROTO_TCP, loadLibc, SO_ERROR,
  SO_REUSEADDR, SO_REUSEPORT, SOCK_CLOEXEC, SOCK_NONBLOCK, SOCK_STREAM, SOL_SOCKET, TCP_NODELAY, type Libc,
} from '../../ffi/libc.ts'
import { EpollLoop } from './loop.ts'
import { AF_UNIX } from '../../ffi/libc.ts'
import { boundPort, encodeAddress, encodeUnixPath } from '../../ffi/sockaddr.ts'

const ACCEPTS_PER_EVENT = 64
const ACCEPT_BACKOFF_MS = 100
const BACKLOG_DEFAULT = 511

let loop: EpollLoop | undefined
async function loopOfThisThread(): Promise<EpollLoop> {
  loop ??= new EpollLoop(await loadLibc())
  return loop
}

/** Loads koffi and binds the calls (nothing is opened). @throws KoffiMissingError without koffi */
export async function ready(): Promise<void> {
  await loadLibc()
}

const ONE = Buffer.from([1, 0, 0, 0])

function setOption(libc: Libc, fd: number, level: number, name: number): void {
  libc.setsockopt(fd, level, name, ONE, 4)
}

async function listenEpoll<Data>(options: BackendListenOptions<Data>): Promise<Listener<Data>> {
  const epoll = await loopOfThisThread()
  const libc = epoll.libc
  const { host, port, handlers, stages } = options
  // With stages, a connection has the staging handlers until its stages are done (../stages.ts).
  const first = stages === undefined ? handlers : stagingHandlers
  const address = options.path !== undefined ? encodeUnixPath(options.path) : encodeAddress(host, port)
  const fd = libc.socket(address.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)
  const refuse = (code: string, call: string) => (options.path !== undefined ? listenPathError(code, call, options.path) : listenError(code, call, host, port))
  if (fd < 0) throw refuse(errnoName(libc.errno()), 'socket')
  const fail = (call: string) => {
    const code = errnoName(libc.errno())
    libc.close(fd)
    return refuse(code, call)
  }
  if (address.family !== AF_UNIX) {
    setOption(libc, fd, SOL_SOCKET, SO_REUSEADDR)
    if (options.reusePort) setOption(libc, fd, SOL_SOCKET, SO_REUSEPORT)
  }
  if (libc.bind(fd, address.bytes, address.bytes.length) !== 0) throw fail('bind')
  if (libc.listen(fd, options.backlog ?? BACKLOG_DEFAULT) !== 0) throw fail('listen')
  const connections = new Set<Connection<Data>>()
  const forget = (connection: EpollConnection<Data>) => {
    connections.delete(connection)
    if (closing !== undefined && connections.size === 0) closing.resolve()
  }
  let closing: { promise: Promise<void>; resolve: () => void } | undefined
  let backoff: NodeJS.Timeout | undefined
  const tcp = address.family !== AF_UNIX
  const acceptor = {
    onEvents() {
      for (let i = 0; i < ACCEPTS_PER_EVENT; i++) {
        const client = libc.accept4(fd, null, null, SOCK_NONBLOCK | SOCK_CLOEXEC)
        if (client < 0) {
          const errno = libc.errno()
          if (errno === EMFILE || errno === ENFILE) {
            // Out of descriptors: stop asking for a while rather than spin on a listener that stays ready.
            epoll.modify(fd, 0)
            backoff = setTimeout(() => closing === undefined && epoll.modify(fd, EPOLLIN), ACCEPT_BACKOFF_MS)
          } else if (errno !== EAGAIN && errno !== EINTR) {
            // ECONNABORTED and the like concern one connection, not the listener.
            continue
          }
          return
        }
        if (tcp) setOption(libc, client, IPPROTO_TCP, TCP_NODELAY)
        const connection = new EpollConnection(client, epoll, first, options.writeBufferBytesHigh, options.stringEncoding, forget)
        connections.add(connection)
        if (options.idleTimeoutMs > 0) connection.setTimeout(options.idleTimeoutMs)
        if (stages === undefined) handlers.open?.(connection)
        else startStages(connection, stages)
      }
    },
  }
  epoll.add(fd, acceptor, EPOLLIN)
  return {
    host,
    port: tcp ? boundPort(libc, fd) : 0,
    path: options.path,
    backend: 'epoll',
    connections,
    close() {
      if (closing === undefined) {
        // (Not Promise.withResolvers: it is Node 22's, and a process on an older Node should not crash on close.)
        let resolve!: () => void
        const promise = new Promise<void>((done) => (resolve = done))
        closing = { promise, resolve }
        clearTimeout(backoff)
        epoll.remove(fd)
        libc.close(fd)
        // bind(2) made the socket file and nothing removes it but us: node:net (libuv) unlinks it on
        // close too, and a file left behind makes the next listen on the path fail with EADDRINUSE.
        if (options.path !== undefined && !options.path.startsWith('\0')) unlinkQuietly(options.path)
        if (connections.size === 0) closing.resolve()
      }
      return closing.promise
    },
  }
}

/** Removes a socket file, as libuv does on close: a failure (already gone, say) is not the caller's concern. */
function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path)
  } catch {}
}

async function connectEpoll<Data>(options: BackendConnectOptions<Data>): Promise<Connection<Data>> {
  const epoll = await loopOfThisThread()
  const libc = epoll.libc
  const { host, port, path } = options
  const where = path ?? `${host}:${port}`
  const address = path !== undefined ? encodeUnixPath(path) : encodeAddress(host, port)
  const fd = libc.socket(address.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)
  const refuse = (errno: number) => {
    const code = errnoName(errno)
    return new ConnectError(`Cannot connect to ${where}: ${code}`, code)
  }
  if (fd < 0) throw refuse(libc.errno())
  if (address.family !== AF_UNIX) setOption(libc, fd, IPPROTO_TCP, TCP_NODELAY)
  if (libc.connect(fd, address.bytes, address.bytes.length) !== 0) {
    const errno = libc.errno()
    if (errno !== EINPROGRESS && errno !== EAGAIN) {
      libc.close(fd)
      throw refuse(errno)
    }
    // In progress: writable means decided; SO_ERROR says how.
    const errnoAfter = await new Promise<number>((resolve) => {
      epoll.add(fd, {
        onEvents(flags) {
          if ((flags & (EPOLLOUT | EPOLLERR)) === 0) return
          epoll.remove(fd)
          const value = Buffer.alloc(4)
          const length = Buffer.alloc(4)
          length.writeUInt32LE(4)
          libc.getsockopt(fd, SOL_SOCKET, SO_ERROR, value, length)
          resolve(value.readInt32LE(0))
        },
      }, EPOLLOUT)
    })
    if (errnoAfter !== 0) {
      libc.close(fd)
      throw refuse(errnoAfter)
    }
  }
  const connection = new EpollConnection(fd, epoll, options.handlers, options.writeBufferBytesHigh, 'utf8', () => {})
  options.handlers.open?.(connection)
  return connection
}

export const epollBackend: TransportBackend = { name: 'epoll', listen: listenEpoll, connect: connectEpoll }
