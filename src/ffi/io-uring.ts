/*
 * io_uring through koffi, with no native addon and no liburing: the three system calls by number
 * (io_uring_setup 425, io_uring_enter 426, io_uring_register 427; the same numbers on x86-64 and arm64,
 * which share the numbering of every call since 403), the rings mmapped once and read and written through
 * koffi.view() ArrayBuffers, the heads and tails with Atomics.load/store (the kernel reads and writes them
 * from other CPUs; the entries themselves are plain stores, published by the tail's store).
 *
 * Why this shape: the syscall is what costs on a machine with page-table isolation, so a loop puts a whole
 * turn's sends and receives in the submission queue, then makes ONE io_uring_enter that submits them and
 * runs the completions (with DEFER_TASKRUN the kernel runs network completions only inside that enter, on
 * this thread: the ring's own fd is then never woken by them, so a registered eventfd is what tells libuv's
 * loop that completions wait). Reaping passes min_complete = the CQ's size with EXT_ARG and a zero
 * timeout: without it one GETEVENTS enter runs only about 20 completions (seen on 6.18), with it every one.
 *
 * Setup asks for SINGLE_ISSUER | DEFER_TASKRUN | COOP_TASKRUN | TASKRUN_FLAG (6.1+), then COOP_TASKRUN |
 * TASKRUN_FLAG (5.19+), then nothing, and says which it got (`IoUring.setupFlags`). TASKRUN_FLAG makes the
 * kernel set IORING_SQ_TASKRUN in the SQ ring's flags the moment a completion waits to be run: a loop can
 * see work by reading memory (`sqFlags`), with no system call, before it decides to park. SINGLE_ISSUER binds the ring to the thread that
 * made it: every enter must come from that thread, so never through koffi's `.async` (a pool thread would
 * get EEXIST). One ring per thread.
 *
 * Worst case: the kernel refuses io_uring (ENOSYS: not built in; EPERM: a seccomp profile, as Docker's
 * and containerd's default, or kernel.io_uring_disabled = 2, or 1 for a user outside io_uring_group).
 * `ioUringSupport()` says which, once per process, without throwing.
 *
 * The memory, as the kernel lays it out (offsets of the SQ and CQ fields come from io_uring_params):
 *
 *   struct io_uring_params (120 B)
 *     0 sq_entries u32 | 4 cq_entries u32 | 8 flags u32 | 12 sq_thread_cpu u32 | 16 sq_thread_idle u32
 *    20 features u32   | 24 wq_fd u32      | 28 resv u32 ×3
 *    40 sq_off: head, tail, ring_mask, ring_entries, flags, dropped, array, resv1 (u32 each), user_addr u64
 *    80 cq_off: head, tail, ring_mask, ring_entries, overflow, cqes, flags, resv1 (u32 each), user_addr u64
 *
 *   SQ ring (mmap offset IORING_OFF_SQ_RING; with FEAT_SINGLE_MMAP the CQ ring shares the mapping)
 *     ... head u32 (kernel) ... tail u32 (us) ... array u32 × sq_entries (set once to 0, 1, 2, ...:
 *     slot i of the SQE array is always entry i, so only the tail moves)
 *   CQ ring (IORING_OFF_CQ_RING)
 *     ... head u32 (us) ... tail u32 (kernel) ... cqes: io_uring_cqe × cq_entries
 *   SQEs (IORING_OFF_SQES): io_uring_sqe × sq_entries
 *
 *   struct io_uring_sqe (64 B)
 *     0 opcode u8 | 1 flags u8 | 2 ioprio u16 | 4 fd i32
 *     8 off / addr2 u64                       (SPLICE: off_out)
 *    16 addr / splice_off_in u64              (buffer, sockaddr, msghdr)
 *    24 len u32
 *    28 op flags u32                          (msg_flags, accept_flags, splice_flags, shutdown how in len)
 *    32 user_data u64                         (here: low 32 bits a number of ours, high 32 bits zero)
 *    40 buf_index / buf_group u16 | 42 personality u16 | 44 splice_fd_in / file_index i32
 *    48 addr3 u64 | 56 pad u64
 *
 *   struct io_uring_cqe (16 B): 0 user_data u64 | 8 res i32 | 12 flags u32
 *     flags: F_BUFFER (bit 0, the buffer id in bits 16-31), F_MORE (bit 1: a multishot request goes on)
 *
 *   Provided buffer ring (IORING_REGISTER_PBUF_RING; page-aligned memory of ours, entries a power of 2)
 *     struct io_uring_buf (16 B) × entries: 0 addr u64 | 8 len u32 | 12 bid u16 | 14 resv u16
 *     the ring's tail is entry 0's resv (offset 14): we add buffers at tail & mask, then store the tail
 */
import { readFileSync } from 'node:fs'
import { SystemCallError } from '../errors.ts'
import { type Koffi, libcPath, loadKoffi } from './koffi.ts'

export const SYS_IO_URING_SETUP = 425
export const SYS_IO_URING_ENTER = 426
export const SYS_IO_URING_REGISTER = 427

export const IORING_SETUP_COOP_TASKRUN = 1 << 8
export const IORING_SETUP_TASKRUN_FLAG = 1 << 9
export const IORING_SETUP_SINGLE_ISSUER = 1 << 12
export const IORING_SETUP_DEFER_TASKRUN = 1 << 13

/** sq_flags bits: TASKRUN is set (with SETUP_TASKRUN_FLAG) the moment completions wait to be run. */
export const IORING_SQ_CQ_OVERFLOW = 1 << 1
export const IORING_SQ_TASKRUN = 1 << 2

export const IORING_FEAT_SINGLE_MMAP = 1 << 0
export const IORING_FEAT_NODROP = 1 << 1
export const IORING_FEAT_FAST_POLL = 1 << 5
export const IORING_FEAT_EXT_ARG = 1 << 8

export const IORING_OFF_SQ_RING = 0
export const IORING_OFF_CQ_RING = 0x8000000
export const IORING_OFF_SQES = 0x10000000

export const IORING_ENTER_GETEVENTS = 1 << 0
export const IORING_ENTER_EXT_ARG = 1 << 3

export const IORING_REGISTER_EVENTFD = 4
export const IORING_UNREGISTER_EVENTFD = 5
export const IORING_REGISTER_PBUF_RING = 22
export const IORING_UNREGISTER_PBUF_RING = 23

/** The opcodes wirespeed uses (enum io_uring_op). */
export const Op = {
  NOP: 0,
  SENDMSG: 9,
  ACCEPT: 13,
  ASYNC_CANCEL: 14,
  CLOSE: 19,
  SEND: 26,
  RECV: 27,
  SPLICE: 30,
  SHUTDOWN: 34,
} as const

export const IOSQE_BUFFER_SELECT = 1 << 5
export const IORING_ACCEPT_MULTISHOT = 1 << 0
export const IORING_RECV_MULTISHOT = 1 << 1
export const IORING_CQE_F_BUFFER = 1 << 0
export const IORING_CQE_F_MORE = 1 << 1
export const IORING_CQE_BUFFER_SHIFT = 16

const SQE_BYTES = 64
const CQE_BYTES = 16
const PARAMS_BYTES = 120
const BUF_BYTES = 16
const PAGE_BYTES = 4096
const PROT_READ_WRITE = 3
const MAP_SHARED = 0x1
const MAP_PRIVATE = 0x2
const MAP_ANONYMOUS = 0x20
const MAP_POPULATE = 0x8000
const EFD_NONBLOCK = 0o4000
const EFD_CLOEXEC = 0o2000000
const EPERM = 1
const EINTR = 4
const EAGAIN = 11
const EINVAL = 22
const ENOSYS = 38
const ETIME = 62
const MAP_FAILED = 0xffffffffffffffffn

/** The setup flags tried in turn: the first the kernel accepts is the ring's. */
export const SETUP_FLAGS_PREFERRED = [
  IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG,
  IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG,
  0,
] as const

type Call = (...args: unknown[]) => number | bigint
interface Calls {
  koffi: Koffi
  setup: Call
  enter: Call
  register: Call
  mmap: (...args: unknown[]) => unknown
  munmap: Call
  eventfd: Call
  read: Call
  close: Call
  address(pointer: unknown): bigint
}

let calls: Calls | undefined

async function bind(): Promise<Calls> {
  if (calls) return calls
  const ffi = await loadKoffi('The io_uring backend', 'the epoll and node backends work without io_uring')
  const lib = ffi.load(libcPath())
  // syscall(2) is variadic; declared with fixed integer and pointer arguments it is called the same way on
  // x86-64 and arm64 Linux (every argument in a general register), which is all glibc's syscall() reads.
  calls = {
    koffi: ffi,
    setup: lib.func('long syscall(long number, uint32_t entries, void *params)') as Call,
    enter: lib.func('long syscall(long number, int fd, uint32_t submit, uint32_t complete, uint32_t flags, void *arg, size_t size)') as Call,
    register: lib.func('long syscall(long number, int fd, uint32_t opcode, void *arg, uint32_t count)') as Call,
    mmap: lib.func('void *mmap(void *address, size_t length, int protection, int flags, int fd, long offset)'),
    munmap: lib.func('int munmap(void *address, size_t length)') as Call,
    eventfd: lib.func('int eventfd(uint32_t initial, int flags)') as Call,
    read: lib.func('long read(int fd, void *buffer, size_t count)') as Call,
    close: lib.func('int close(int fd)') as Call,
    address: (pointer) => ffi.address(pointer),
  }
  return calls
}

/** Whether io_uring can be used here, and if not, why (a sentence for `server.backendReason`). */
export type IoUringSupport =
  | { ok: true; setupFlags: number; features: number }
  | { ok: false; reason: string; errno?: number }

let support: Promise<IoUringSupport> | undefined

/**
 * Probes io_uring once per process: sets up a ring of one entry with the preferred flags and closes it.
 * Never throws.
 * @example
 * const support = await ioUringSupport()
 * if (!support.ok) console.log(`uring: ${support.reason}`)
 */
export function ioUringSupport(): Promise<IoUringSupport> {
  support ??= probe()
  return support
}

async function probe(): Promise<IoUringSupport> {
  if (process.platform !== 'linux') return { ok: false, reason: 'io_uring is Linux only' }
  if (process.arch !== 'x64' && process.arch !== 'arm64') return { ok: false, reason: `io_uring through syscall numbers is bound for x64 and arm64, not ${process.arch}` }
  let bound: Calls
  try {
    bound = await bind()
  } catch (error) {
    return { ok: false, reason: (error as Error).message }
  }
  const result = setupRing(bound, 1)
  if ('errno' in result) return { ok: false, reason: refusal(result.errno), errno: result.errno }
  bound.close(result.fd)
  return { ok: true, setupFlags: result.setupFlags, features: result.params.readUInt32LE(20) }
}

/** Why io_uring_setup failed, in a sentence. */
export function refusal(errno: number): string {
  if (errno === ENOSYS) return 'io_uring is not in this kernel (ENOSYS)'
  if (errno === EPERM) {
    const disabled = readDisabled()
    const setting = disabled === undefined ? '' : ` (kernel.io_uring_disabled is ${disabled})`
    return `io_uring refused by the kernel (EPERM): seccomp or kernel.io_uring_disabled${setting}`
  }
  return `io_uring_setup failed with errno ${errno}`
}

/** /proc/sys/kernel/io_uring_disabled: 0 allowed, 1 only for root and io_uring_group, 2 refused to all (6.6+). */
export function readDisabled(): number | undefined {
  try {
    return Number(readFileSync('/proc/sys/kernel/io_uring_disabled', 'utf8').trim())
  } catch {
    return undefined
  }
}

function setupRing(bound: Calls, entries: number, choices: readonly number[] = SETUP_FLAGS_PREFERRED): { fd: number; params: Buffer; setupFlags: number } | { errno: number } {
  let errno = EINVAL
  for (const setupFlags of choices) {
    const params = Buffer.alloc(PARAMS_BYTES)
    params.writeUInt32LE(setupFlags, 8)
    const fd = Number(bound.setup(SYS_IO_URING_SETUP, entries, params))
    if (fd >= 0) return { fd, params, setupFlags }
    errno = bound.koffi.errno()
    // EINVAL: a flag this kernel does not know; anything else (ENOSYS, EPERM, ENOMEM) no flags will mend.
    if (errno !== EINVAL) return { errno }
  }
  return { errno }
}

/** One completion, as `IoUring.reap` hands them on. */
export type CompletionHandler = (userData: number, result: number, flags: number) => void

/**
 * One io_uring: the rings mapped once, an eventfd registered for libuv to watch, SQE writers for the
 * opcodes wirespeed uses. Not thread-safe, and with SINGLE_ISSUER bound to the thread that opened it.
 * @example
 * const ring = await IoUring.open(256)
 * ring.nop(7)
 * ring.submitAndReap((userData, result) => console.log(userData, result))
 * ring.close()
 */
export class IoUring {
  readonly fd: number
  /** The eventfd the kernel signals when completions are posted (or, with DEFER_TASKRUN, wait to be run). */
  readonly eventFd: number
  readonly setupFlags: number
  readonly features: number
  readonly sqEntries: number
  readonly cqEntries: number
  #calls: Calls
  #sqHead: Uint32Array
  #sqTail: Uint32Array
  #sqMask: number
  #sqFlags: Uint32Array
  /** The next SQE index to fill (local, published by submit()). */
  #tail: number
  #submitted: number
  #cqHead: Uint32Array
  #cqTail: Uint32Array
  #cqMask: number
  #cqes: Uint32Array
  #sqes: DataView
  #sqeWords: Uint32Array
  #maps: Array<{ pointer: unknown; bytes: number }> = []
  /** struct io_uring_getevents_arg and its zero __kernel_timespec, kept alive for every enter. */
  #eventsArg: Buffer
  #timespec: Buffer
  #eventCount = Buffer.alloc(8)
  #closed = false

  private constructor(calls: Calls, fd: number, params: Buffer, setupFlags: number) {
    this.#calls = calls
    this.fd = fd
    this.setupFlags = setupFlags
    this.sqEntries = params.readUInt32LE(0)
    this.cqEntries = params.readUInt32LE(4)
    this.features = params.readUInt32LE(20)
    const sq = (field: number) => params.readUInt32LE(40 + field * 4)
    const cq = (field: number) => params.readUInt32LE(80 + field * 4)
    const sqBytes = sq(6) + this.sqEntries * 4
    const cqBytes = cq(5) + this.cqEntries * CQE_BYTES
    let sqRing: ArrayBuffer
    let cqRing: ArrayBuffer
    if (this.features & IORING_FEAT_SINGLE_MMAP) {
      sqRing = cqRing = this.#map(Math.max(sqBytes, cqBytes), IORING_OFF_SQ_RING)
    } else {
      sqRing = this.#map(sqBytes, IORING_OFF_SQ_RING)
      cqRing = this.#map(cqBytes, IORING_OFF_CQ_RING)
    }
    const sqes = this.#map(this.sqEntries * SQE_BYTES, IORING_OFF_SQES)
    this.#sqHead = new Uint32Array(sqRing, sq(0), 1)
    this.#sqTail = new Uint32Array(sqRing, sq(1), 1)
    this.#sqMask = new Uint32Array(sqRing, sq(2), 1)[0]!
    this.#sqFlags = new Uint32Array(sqRing, sq(4), 1)
    const array = new Uint32Array(sqRing, sq(6), this.sqEntries)
    for (let i = 0; i < this.sqEntries; i++) array[i] = i
    this.#tail = Atomics.load(this.#sqTail, 0)
    this.#submitted = this.#tail
    this.#cqHead = new Uint32Array(cqRing, cq(0), 1)
    this.#cqTail = new Uint32Array(cqRing, cq(1), 1)
    this.#cqMask = new Uint32Array(cqRing, cq(2), 1)[0]!
    this.#cqes = new Uint32Array(cqRing, cq(5), this.cqEntries * (CQE_BYTES / 4))
    this.#sqes = new DataView(sqes)
    this.#sqeWords = new Uint32Array(sqes)
    this.#timespec = Buffer.alloc(16)
    this.#eventsArg = Buffer.alloc(24)
    this.#eventsArg.writeBigUInt64LE(calls.address(this.#timespec), 16)
    const eventFd = Number(calls.eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC))
    if (eventFd < 0) throw this.#fail('eventfd', calls.koffi.errno())
    this.eventFd = eventFd
    const value = Buffer.alloc(4)
    value.writeInt32LE(eventFd)
    if (Number(calls.register(SYS_IO_URING_REGISTER, fd, IORING_REGISTER_EVENTFD, value, 1)) < 0) {
      throw this.#fail('io_uring_register(IORING_REGISTER_EVENTFD)', calls.koffi.errno())
    }
  }

  /**
   * Sets up a ring of `entries` SQEs (a power of 2; the CQ gets twice as many), with the first of
   * `setupFlags` the kernel accepts (default SETUP_FLAGS_PREFERRED).
   * @throws SystemCallError when the kernel refuses (see ioUringSupport() for the reason in words)
   */
  static async open(entries: number, setupFlags: readonly number[] = SETUP_FLAGS_PREFERRED): Promise<IoUring> {
    const bound = await bind()
    const result = setupRing(bound, entries, setupFlags)
    if ('errno' in result) throw new SystemCallError(`Cannot set up io_uring: ${refusal(result.errno)}`, 'io_uring_setup', result.errno)
    return new IoUring(bound, result.fd, result.params, result.setupFlags)
  }

  #map(bytes: number, offset: number): ArrayBuffer {
    const pointer = this.#calls.mmap(null, bytes, PROT_READ_WRITE, MAP_SHARED | MAP_POPULATE, this.fd, offset)
    if (pointer === null || this.#calls.address(pointer) === MAP_FAILED) throw this.#fail('mmap', this.#calls.koffi.errno())
    this.#maps.push({ pointer, bytes })
    return this.#calls.koffi.view(pointer, bytes)
  }

  #fail(call: string, errno: number): SystemCallError {
    this.close()
    return new SystemCallError(`Cannot set up io_uring: ${call} failed with errno ${errno}`, call, errno)
  }

  /**
   * The SQ ring's flags word, read with no system call: IORING_SQ_TASKRUN (with IORING_SETUP_TASKRUN_FLAG)
   * says completions wait to be run, IORING_SQ_CQ_OVERFLOW that the CQ overflowed.
   */
  get sqFlags(): number {
    return Atomics.load(this.#sqFlags, 0)
  }

  /** SQEs filled and not yet handed to the kernel by an enter. */
  get pending(): number {
    return (this.#tail - this.#submitted) >>> 0
  }

  /** Free SQE slots: the kernel consumes up to its head. */
  get space(): number {
    return this.sqEntries - ((this.#tail - Atomics.load(this.#sqHead, 0)) >>> 0)
  }

  /**
   * The next SQE, zeroed, with opcode, fd and user_data written: its byte offset in the SQE array. When the
   * queue is full the queued entries are submitted first (one enter without waiting).
   */
  #sqe(opcode: number, fd: number, userData: number): number {
    if (this.space === 0) this.submit()
    const index = this.#tail & this.#sqMask
    this.#tail = (this.#tail + 1) >>> 0
    const word = index * (SQE_BYTES / 4)
    this.#sqeWords.fill(0, word, word + SQE_BYTES / 4)
    const at = index * SQE_BYTES
    this.#sqes.setUint8(at, opcode)
    this.#sqes.setInt32(at + 4, fd, true)
    this.#sqeWords[word + 8] = userData >>> 0
    return at
  }

  /** IORING_OP_NOP: completes with result 0. */
  nop(userData: number): void {
    this.#sqe(Op.NOP, -1, userData)
  }

  /**
   * IORING_OP_ACCEPT on a listening socket; `multishot` (5.19+) keeps it armed: one completion per
   * connection (result = the new fd) while IORING_CQE_F_MORE is set.
   */
  accept(fd: number, userData: number, multishot: boolean, acceptFlags = 0o2000000 /* SOCK_CLOEXEC */): void {
    const at = this.#sqe(Op.ACCEPT, fd, userData)
    if (multishot) this.#sqes.setUint16(at + 2, IORING_ACCEPT_MULTISHOT, true)
    this.#sqes.setUint32(at + 28, acceptFlags, true)
  }

  /**
   * IORING_OP_RECV choosing a buffer from the provided buffer ring `group` (the completion's flags carry
   * the buffer id: `flags >>> IORING_CQE_BUFFER_SHIFT`); `multishot` (6.0+) keeps it armed.
   * A result of 0 is the peer's FIN; -ENOBUFS means the ring ran dry (re-arm once buffers are back).
   */
  recv(fd: number, group: number, userData: number, multishot: boolean): void {
    const at = this.#sqe(Op.RECV, fd, userData)
    if (multishot) this.#sqes.setUint16(at + 2, IORING_RECV_MULTISHOT, true)
    this.#sqes.setUint8(at + 1, IOSQE_BUFFER_SELECT)
    this.#sqes.setUint16(at + 40, group, true)
  }

  /**
   * IORING_OP_SEND of `length` bytes at `address`: the memory must stay alive and unchanged until the
   * completion (result = bytes sent, which may be fewer: send the rest again).
   */
  send(fd: number, address: bigint | number, length: number, userData: number, msgFlags = 0x4000 /* MSG_NOSIGNAL */): void {
    const at = this.#sqe(Op.SEND, fd, userData)
    this.#sqes.setBigUint64(at + 16, BigInt(address), true)
    this.#sqes.setUint32(at + 24, length, true)
    this.#sqes.setUint32(at + 28, msgFlags, true)
  }

  /** IORING_OP_SENDMSG with a struct msghdr at `msghdr` (its iovecs and bytes alive until the completion). */
  sendmsg(fd: number, msghdr: bigint | number, userData: number, msgFlags = 0x4000): void {
    const at = this.#sqe(Op.SENDMSG, fd, userData)
    this.#sqes.setBigUint64(at + 16, BigInt(msghdr), true)
    this.#sqes.setUint32(at + 24, 1, true)
    this.#sqes.setUint32(at + 28, msgFlags, true)
  }

  /** IORING_OP_SHUTDOWN (5.11+): `how` is SHUT_RD 0, SHUT_WR 1 or SHUT_RDWR 2. */
  shutdown(fd: number, how: number, userData: number): void {
    const at = this.#sqe(Op.SHUTDOWN, fd, userData)
    this.#sqes.setUint32(at + 24, how, true)
  }

  /** IORING_OP_CLOSE (5.6+): the kernel cancels nothing for us; cancel multishot requests first, or let FIN end them. */
  closeFd(fd: number, userData: number): void {
    this.#sqe(Op.CLOSE, fd, userData)
  }

  /** IORING_OP_ASYNC_CANCEL of the request(s) whose user_data is `target`. */
  cancel(target: number, userData: number): void {
    const at = this.#sqe(Op.ASYNC_CANCEL, -1, userData)
    this.#sqes.setUint32(at + 16, target >>> 0, true)
  }

  /**
   * IORING_OP_SPLICE of `length` bytes from `fdIn` at `offsetIn` (-1: its current position, as for a pipe)
   * to `fdOut` (one side must be a pipe: a file is sent as file → pipe → socket, two SPLICEs linked).
   */
  splice(fdIn: number, offsetIn: number, fdOut: number, length: number, userData: number, spliceFlags = 0): void {
    const at = this.#sqe(Op.SPLICE, fdOut, userData)
    this.#sqes.setBigInt64(at + 8, -1n, true)
    this.#sqes.setBigInt64(at + 16, BigInt(offsetIn), true)
    this.#sqes.setUint32(at + 24, length, true)
    this.#sqes.setUint32(at + 28, spliceFlags, true)
    this.#sqes.setInt32(at + 44, fdIn, true)
  }

  /** Publishes the filled SQEs to the kernel (the tail's store orders the entries' plain stores before it). */
  #publish(): number {
    Atomics.store(this.#sqTail, 0, this.#tail)
    const count = this.pending
    this.#submitted = this.#tail
    return count
  }

  /** Submits the filled SQEs without waiting or running completions. @returns how many the kernel took */
  submit(): number {
    const count = this.#publish()
    if (count === 0) return 0
    return this.#enter(count, 0, 0, null, 0)
  }

  /**
   * One io_uring_enter that submits what is queued and runs every completion that is ready (GETEVENTS with
   * min_complete = the CQ's size and a zero timeout through EXT_ARG: it never sleeps), then hands each
   * completion to `onCompletion` and frees the CQ.
   * @returns the number of completions handed on
   */
  submitAndReap(onCompletion: CompletionHandler): number {
    const count = this.#publish()
    if (this.features & IORING_FEAT_EXT_ARG) {
      this.#enter(count, this.cqEntries, IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG, this.#eventsArg, 24)
    } else {
      this.#enter(count, 0, IORING_ENTER_GETEVENTS, null, 0)
    }
    return this.reap(onCompletion)
  }

  /**
   * Waits in the kernel for at least `minComplete` completions (blocking this thread: for tests and the C
   * floor's way of working, not for a loop that shares its thread with Node), then reaps them.
   */
  submitAndWait(minComplete: number, onCompletion: CompletionHandler): number {
    const count = this.#publish()
    this.#enter(count, minComplete, IORING_ENTER_GETEVENTS, null, 0)
    return this.reap(onCompletion)
  }

  #enter(submit: number, complete: number, flags: number, arg: Buffer | null, size: number): number {
    for (;;) {
      const result = Number(this.#calls.enter(SYS_IO_URING_ENTER, this.fd, submit, complete, flags, arg, size))
      if (result >= 0) return result
      const errno = this.#calls.koffi.errno()
      // ETIME: the zero timeout passed with fewer than min_complete ready, which is the point of it.
      if (errno === ETIME) return 0
      // EINTR: a signal; EAGAIN/EBUSY: the CQ is full, which reaping mends (the caller reaps next).
      if (errno === EINTR) continue
      if (errno === EAGAIN || errno === 16) return 0
      throw new SystemCallError(`io_uring_enter failed with errno ${errno}`, 'io_uring_enter', errno)
    }
  }

  /** Hands on every completion in the CQ and frees their slots. */
  reap(onCompletion: CompletionHandler): number {
    let head = Atomics.load(this.#cqHead, 0)
    const tail = Atomics.load(this.#cqTail, 0)
    const cqes = this.#cqes
    let count = 0
    while (head !== tail) {
      const word = (head & this.#cqMask) * (CQE_BYTES / 4)
      const userData = cqes[word]!
      const result = cqes[word + 2]! | 0
      const flags = cqes[word + 3]!
      head = (head + 1) >>> 0
      count++
      // The slot is freed before the handler runs, so a handler may submit and reap again.
      Atomics.store(this.#cqHead, 0, head)
      onCompletion(userData, result, flags)
    }
    return count
  }

  /** Reads (and so resets) the eventfd: call before reaping, so a completion after the reap wakes it again. */
  clearEvent(): void {
    this.#calls.read(this.eventFd, this.#eventCount, 8)
  }

  /**
   * Registers a provided buffer ring (5.19+) of `entries` buffers of `bufferBytes` each as `group`, every
   * buffer handed to the kernel.
   * @throws SystemCallError when the kernel refuses
   */
  bufferRing(group: number, entries: number, bufferBytes: number): BufferRing {
    return new BufferRing(this.#calls, this.fd, group, entries, bufferBytes, this.#maps)
  }

  /** Unmaps the rings, closes the ring and the eventfd. Buffer rings mapped by this ring go with it. */
  close(): void {
    if (this.#closed) return
    this.#closed = true
    for (const { pointer, bytes } of this.#maps) this.#calls.munmap(pointer, bytes)
    this.#maps.length = 0
    if (this.eventFd !== undefined) this.#calls.close(this.eventFd)
    this.#calls.close(this.fd)
  }
}

/**
 * A provided buffer ring: `entries` buffers of `bufferBytes` in one anonymous mapping, lent to the kernel,
 * which picks one per receive. A buffer stays ours from its completion until `recycle(id)` gives it back.
 */
export class BufferRing {
  readonly group: number
  readonly entries: number
  readonly bufferBytes: number
  /** Every buffer's bytes, buffer i at i × bufferBytes. */
  readonly bytes: Uint8Array
  #ring: DataView
  #tailWord: Uint16Array
  #tail = 0
  #mask: number
  #base: bigint

  constructor(calls: Calls, ringFd: number, group: number, entries: number, bufferBytes: number, maps: Array<{ pointer: unknown; bytes: number }>) {
    if (entries < 1 || entries > 32768 || (entries & (entries - 1)) !== 0) {
      throw new RangeError(`Invalid buffer ring size ${entries}: expected a power of 2 from 1 to 32768`)
    }
    this.group = group
    this.entries = entries
    this.bufferBytes = bufferBytes
    this.#mask = entries - 1
    const anonymous = (bytes: number) => {
      const pointer = calls.mmap(null, bytes, PROT_READ_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
      if (pointer === null || calls.address(pointer) === MAP_FAILED) {
        const errno = calls.koffi.errno()
        throw new SystemCallError(`Cannot map a buffer ring: mmap failed with errno ${errno}`, 'mmap', errno)
      }
      maps.push({ pointer, bytes })
      return pointer
    }
    const ringBytes = Math.ceil((entries * BUF_BYTES) / PAGE_BYTES) * PAGE_BYTES
    const ringPointer = anonymous(ringBytes)
    const bufferPointer = anonymous(entries * bufferBytes)
    this.#ring = new DataView(calls.koffi.view(ringPointer, ringBytes))
    this.#tailWord = new Uint16Array(this.#ring.buffer, 14, 1)
    this.#base = calls.address(bufferPointer)
    this.bytes = new Uint8Array(calls.koffi.view(bufferPointer, entries * bufferBytes))
    const registration = Buffer.alloc(40)
    registration.writeBigUInt64LE(calls.address(ringPointer), 0)
    registration.writeUInt32LE(entries, 8)
    registration.writeUInt16LE(group, 12)
    if (Number(calls.register(SYS_IO_URING_REGISTER, ringFd, IORING_REGISTER_PBUF_RING, registration, 1)) < 0) {
      const errno = calls.koffi.errno()
      throw new SystemCallError(`Cannot register a buffer ring: io_uring_register(IORING_REGISTER_PBUF_RING) failed with errno ${errno}`, 'io_uring_register', errno)
    }
    for (let id = 0; id < entries; id++) this.#add(id)
    this.#publish()
  }

  /** The bytes a receive put in buffer `id` (a view: valid until the buffer is recycled). */
  view(id: number, length: number): Uint8Array {
    return this.bytes.subarray(id * this.bufferBytes, id * this.bufferBytes + length)
  }

  /** Gives buffer `id` back to the kernel. */
  recycle(id: number): void {
    this.#add(id)
    this.#publish()
  }

  #add(id: number): void {
    // Entry 0's resv field is the tail: write addr, len and bid, never the 2 bytes at offset 14.
    const at = (this.#tail & this.#mask) * BUF_BYTES
    this.#ring.setBigUint64(at, this.#base + BigInt(id * this.bufferBytes), true)
    this.#ring.setUint32(at + 8, this.bufferBytes, true)
    this.#ring.setUint16(at + 12, id, true)
    this.#tail = (this.#tail + 1) & 0xffff
  }

  #publish(): void {
    Atomics.store(this.#tailWord, 0, this.#tail)
  }
}
