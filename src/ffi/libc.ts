/*
 * The system calls of the epoll backend, bound through koffi (src/ffi/koffi.ts), with the Linux constants
 * they take. Buffers are passed as `void *`: koffi hands the kernel a pointer into the Buffer itself, so a
 * read lands in place and a send takes the bytes where they are (no copy in the FFI).
 *
 * struct epoll_event is packed on x86-64 (12 bytes: events u32, data u64 at offset 4) and naturally
 * aligned elsewhere (16 bytes: data at offset 8); the loop stores the fd in the low 32 bits of data.
 */
import { constants } from 'node:os'
import { type Koffi, libcPath, loadKoffi } from './koffi.ts'

export const AF_UNIX = 1
export const AF_INET = 2
export const AF_INET6 = 10
export const SOCK_STREAM = 1
export const SOCK_NONBLOCK = 0o4000
export const SOCK_CLOEXEC = 0o2000000
export const SOL_SOCKET = 1
export const SO_REUSEADDR = 2
export const SO_ERROR = 4
export const SO_REUSEPORT = 15
export const IPPROTO_TCP = 6
export const TCP_NODELAY = 1
export const SHUT_WR = 1
export const MSG_NOSIGNAL = 0x4000
export const MSG_MORE = 0x8000
export const EPOLL_CTL_ADD = 1
export const EPOLL_CTL_DEL = 2
export const EPOLL_CTL_MOD = 3
export const EPOLLIN = 0x1
export const EPOLLOUT = 0x4
export const EPOLLERR = 0x8
export const EPOLLHUP = 0x10
export const EPOLLRDHUP = 0x2000
export const EFD_NONBLOCK = 0o4000
export const EFD_CLOEXEC = 0o2000000

export const EAGAIN = 11
export const EINTR = 4
export const EINPROGRESS = 115
export const EMFILE = 24
export const ENFILE = 23

/** Bytes of one struct epoll_event, and where its data field lies. */
export const EVENT_BYTES = process.arch === 'x64' ? 12 : 16
export const EVENT_DATA_OFFSET = process.arch === 'x64' ? 4 : 8

type Call = (...args: unknown[]) => number
export interface Libc {
  /** koffi itself, for what binds more than the C library (node-loop-watch.ts). */
  koffi: Koffi
  socket: Call
  setsockopt: Call
  getsockopt: Call
  bind: Call
  listen: Call
  accept4: Call
  connect: Call
  read: Call
  /** read(2) into memory at an address (`address()` of a buffer kept alive by the caller). */
  readAt: Call
  send: Call
  /** send(2) from memory at an address. */
  sendAt: Call
  shutdown: Call
  close: Call
  getsockname: Call
  getpeername: Call
  epoll_create1: Call
  epoll_ctl: Call
  epoll_wait: Call & { async(...args: unknown[]): void }
  /** epoll_wait(2) into events at an address. */
  epollWaitAt: Call
  /** poll(2), for the TCP channel's waits (src/shm/socket-channel.ts). */
  poll: Call & { async(...args: unknown[]): void }
  eventfd: Call
  write: Call
  sendfile: Call
  errno(): number
  /**
   * Where `buffer`'s bytes are. Valid while the buffer lives: the bytes of a Buffer never move (an
   * ArrayBuffer's backing store stays put), so the address of one allocated with allocUnsafeSlow (its own
   * store, not a slice of Node's pool) can be kept next to it.
   */
  address(buffer: Buffer): number
}

let libc: Libc | undefined

/** The bound calls, loaded once per thread. @throws KoffiMissingError without koffi */
export async function loadLibc(): Promise<Libc> {
  if (libc) return libc
  const ffi = await loadKoffi('The epoll backend', 'the node backend works without it')
  const lib = ffi.load(libcPath())
  const f = (signature: string) => lib.func(signature) as Call
  libc = {
    koffi: ffi,
    socket: f('int socket(int domain, int type, int protocol)'),
    setsockopt: f('int setsockopt(int fd, int level, int name, void *value, uint32_t length)'),
    getsockopt: f('int getsockopt(int fd, int level, int name, void *value, void *length)'),
    bind: f('int bind(int fd, void *address, uint32_t length)'),
    listen: f('int listen(int fd, int backlog)'),
    accept4: f('int accept4(int fd, void *address, void *length, int flags)'),
    connect: f('int connect(int fd, void *address, uint32_t length)'),
    read: f('long read(int fd, void *buffer, size_t count)'),
    readAt: f('long read(int fd, intptr_t buffer, size_t count)'),
    send: f('long send(int fd, void *buffer, size_t count, int flags)'),
    sendAt: f('long send(int fd, intptr_t buffer, size_t count, int flags)'),
    shutdown: f('int shutdown(int fd, int how)'),
    close: f('int close(int fd)'),
    getsockname: f('int getsockname(int fd, void *address, void *length)'),
    getpeername: f('int getpeername(int fd, void *address, void *length)'),
    epoll_create1: f('int epoll_create1(int flags)'),
    epoll_ctl: f('int epoll_ctl(int epfd, int op, int fd, void *event)'),
    epoll_wait: f('int epoll_wait(int epfd, void *events, int maxevents, int timeout)') as Libc['epoll_wait'],
    epollWaitAt: f('int epoll_wait(int epfd, intptr_t events, int maxevents, int timeout)'),
    poll: f('int poll(void *fds, unsigned long count, int timeout)') as Libc['poll'],
    eventfd: f('int eventfd(uint32_t initval, int flags)'),
    write: f('long write(int fd, void *buffer, size_t count)'),
    sendfile: f('long sendfile(int out_fd, int in_fd, void *offset, size_t count)'),
    errno: () => ffi.errno(),
    address: (buffer) => Number(ffi.address(buffer)),
  }
  return libc
}

const errnoNames = new Map<number, string>(Object.entries(constants.errno).map(([name, value]) => [value, name]))
/** "EADDRINUSE" for 98, as Node names it. */
export function errnoName(errno: number): string {
  return errnoNames.get(errno) ?? `errno ${errno}`
}

/** An Error as Node's sockets give them: a message with the code, and `code`/`errno`/`syscall` set. */
export function systemError(syscall: string, errno: number): NodeJS.ErrnoException {
  const code = errnoName(errno)
  const error: NodeJS.ErrnoException = new Error(`${syscall} ${code}`)
  error.code = code
  error.errno = -errno
  error.syscall = syscall
  return error
}
