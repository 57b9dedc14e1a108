/*
 * The event loop of the epoll backend: one per thread, one epoll instance, driven from Node's own loop so
 * that it never blocks it.
 *
 * While events flow, `poll()` calls epoll_wait with a zero timeout, hands each ready fd's flags to its
 * target, polls again at once while that finds more (up to POLLS_PER_TURN batches: events that arrived
 * while the last batch was handled cost one syscall, not a turn of Node's loop), and schedules itself again
 * with setImmediate: between two turns Node runs its timers, promise jobs, fs and DNS callbacks and other
 * sockets. When polls find nothing ready for EMPTY_TURNS_BEFORE_PARK turns in a row (a few microseconds of
 * spinning, which spares a ping-pong peer the wake-up of a parked wait), the loop parks.
 *
 * Parked, the loop waits inside Node's own event loop: libuv watches the epoll fd (readable while any of
 * its fds is ready) with a uv_poll_t, so the thread sleeps in libuv's epoll_wait beside Node's own sockets
 * and timers, and the first ready fd resumes polling here (node-loop-watch.ts says how, and how a worker
 * thread's end is kept safe). The kernel sees fds added or changed meanwhile (writes that need EPOLLOUT,
 * new connections and listeners). Parked, the loop costs nothing: no timer, no spin, no thread.
 *
 * Where libuv cannot be reached that way (another runtime, a layout the watch does not recognise, or
 * WIRESPEED_EPOLL_PARK=pool, which the tests use to keep this path tried), a parked loop runs one blocking
 * epoll_wait on libuv's thread pool instead (koffi's async call), and its callback resumes polling here. An
 * eventfd wakes it when the last target leaves, so an idle process with nothing open can exit.
 *
 * That wait holds one of libuv's thread-pool threads for as long as the loop is idle, so it is taken from
 * the process's park budget (../park-budget.ts): with more idle loops than the pool can hold (five worker
 * threads on a machine with more cores, say), a loop that finds no room naps instead, polling once on a
 * timer (1 ms after its last event, doubling to 64 ms while idle) and taking a parked wait as soon as one
 * is free.
 *
 * A wait on the pool lasts a second at most (POOL_PARK_MS_MAX), so that a worker thread ended by
 * terminate() is not held by it. Worst case on that path: a napping loop answers the first event after a
 * long idle up to 64 ms late, and wakes about 20 times a second while idle; set UV_THREADPOOL_SIZE above
 * the number of loops to give every one a parked wait.
 */
import {
  EFD_CLOEXEC, EFD_NONBLOCK, EINTR, EPOLL_CTL_ADD, EPOLL_CTL_DEL, EPOLL_CTL_MOD, EPOLLIN, EVENT_BYTES,
  EVENT_DATA_OFFSET, type Libc,
} from '../../ffi/libc.ts'
import { type NodeLoopWatch, watchInNodeLoop } from '../../ffi/node-loop-watch.ts'
import { giveBackParkedWait, noteParksOnThreadPool, parkedWaits, takeParkedWait } from '../park-budget.ts'

/** What owns an fd in the loop: a listener or a connection. */
export interface Target {
  onEvents(flags: number): void
}

const EVENTS_MAX = 256
/**
 * Batches handled in one turn at most before Node's loop runs again. Measured (TCP echo, 8 connections, C
 * client on the other core): 1 → 235k roundtrips/s, 5 with spinning → 251k; HTTP hello unchanged or better.
 */
const POLLS_PER_TURN = 5
/** Empty turns (each about 1.5 µs here) before parking: 16 took the 1-connection echo from 15k to 20k roundtrips/s. */
const EMPTY_TURNS_BEFORE_PARK = 16
/**
 * How long one parked wait on the thread pool lasts at most. worker.terminate() runs none of the worker's
 * 'exit' listeners, so nothing wakes a wait that is out, and the thread's end waits for it to return
 * (measured: without a limit, terminate() of an idle worker never finished). So a wait ends after a second
 * and parks again: a terminated thread ends within it, and an idle loop wakes once a second.
 */
const POOL_PARK_MS_MAX = 1000
/**
 * How long a loop that found no room for a parked wait sleeps before it polls again: 1 ms after it last saw
 * an event, doubling while it stays idle, up to 64 ms (a napping idle loop: about 20 wake-ups a second).
 */
const NAP_MS_MIN = 1
const NAP_MS_MAX = 64

export class EpollLoop {
  readonly libc: Libc
  /** A scratch buffer for encoding batches before they are sent (reused: the kernel copies on send). */
  readonly scratch = Buffer.allocUnsafeSlow(64 * 1024)
  readonly scratchAddress: number
  readonly #epfd: number
  readonly #wakeFd: number
  readonly #events = Buffer.allocUnsafeSlow(EVENTS_MAX * EVENT_BYTES)
  readonly #eventsAddress: number
  readonly #parkEvents = Buffer.alloc(EVENTS_MAX * EVENT_BYTES)
  readonly #event = Buffer.alloc(EVENT_BYTES)
  readonly #targets = new Map<number, Target>()
  readonly #wakeBytes = Buffer.alloc(8)
  #scheduled = false
  /** Turns in a row whose poll found nothing. */
  #emptyTurns = 0
  /** True while a parked wait is out, or a nap timer is set (#napTimer). */
  #parked = false
  #napTimer: NodeJS.Timeout | undefined
  #napMs = NAP_MS_MIN
  readonly #parkedWaits = parkedWaits()
  /** True while this loop counts in #parkedWaits (its parked wait is out and not yet given back). */
  #holdsParkedWait = false
  /** Parks inside Node's own loop where libuv can be reached (node-loop-watch.ts), else undefined. */
  readonly #watch: NodeLoopWatch | undefined
  #slab = Buffer.allocUnsafeSlow(SLAB_BYTES)
  #slabAddress: number
  #slabUsed = 0

  constructor(libc: Libc) {
    this.libc = libc
    this.scratchAddress = libc.address(this.scratch)
    this.#eventsAddress = libc.address(this.#events)
    this.#slabAddress = libc.address(this.#slab)
    this.#epfd = libc.epoll_create1(EFD_CLOEXEC)
    this.#wakeFd = libc.eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)
    this.#control(EPOLL_CTL_ADD, this.#wakeFd, EPOLLIN)
    this.#watch = process.env.WIRESPEED_EPOLL_PARK === 'pool' ? undefined : watchInNodeLoop(libc.koffi, this.#epfd, () => {
      this.#parked = false
      this.#schedule()
    })
    if (this.#watch === undefined) noteParksOnThreadPool()
    // The fds are the process's, not the thread's: a worker thread that exits (process.exit, an uncaught
    // error) must close them, or a dead thread's listener keeps taking connections through SO_REUSEPORT.
    process.once('exit', () => this.closeAll())
  }

  /** True when an idle loop waits inside Node's own loop, false when on libuv's thread pool. */
  get parksInNodeLoop(): boolean {
    return this.#watch !== undefined
  }

  /**
   * Closes every fd of this loop at once (a thread's exit). A parked wait is woken first, so no thread of
   * libuv's pool stays blocked on an epoll fd that is gone.
   */
  closeAll(): void {
    this.#endNap()
    this.#endWatch()
    // The parked wait's callback may never run on a thread that is ending: give its place back now.
    this.#giveBackParkedWait()
    this.libc.write(this.#wakeFd, ONE, 8)
    for (const fd of this.#targets.keys()) this.libc.close(fd)
    this.#targets.clear()
    // The epoll fd may close under a parked wait (the waiting call holds the file), but the eventfd may
    // not: closing it drops it from the interest set, and a waiter woken by the write above, finding the
    // item gone, sleeps again for good, and libuv's exit then waits forever for its thread (seen: 3 exits
    // in 40). So while parked, the eventfd stays open: one fd for the life of the process, only when a
    // thread ends while its loop is parked.
    this.libc.close(this.#epfd)
    if (!this.#parked) this.libc.close(this.#wakeFd)
  }

  /** Registers `fd` for `events` (EPOLLIN, EPOLLOUT...) and starts polling. */
  add(fd: number, target: Target, events: number): void {
    this.#targets.set(fd, target)
    this.#control(EPOLL_CTL_ADD, fd, events)
    this.#schedule()
  }

  modify(fd: number, events: number): void {
    this.#control(EPOLL_CTL_MOD, fd, events)
    // A parked wait sees the change by itself; a nap would see it only when it ends.
    if (this.#napTimer !== undefined) this.#schedule()
  }

  /** Forgets `fd` (call before closing it). When nothing is left, a parked wait is woken so it ends. */
  remove(fd: number): void {
    if (!this.#targets.delete(fd)) return
    this.#control(EPOLL_CTL_DEL, fd, 0)
    if (this.#targets.size === 0 && this.#parked) {
      if (this.#watch !== undefined) this.#endWatch()
      else if (this.#napTimer !== undefined) this.#endNap()
      else this.libc.write(this.#wakeFd, ONE, 8)
    }
  }

  /**
   * One read(2) of `fd` into the current slab, from its first unused byte. Bytes read are handed out as
   * views of the slab and never written again (requests keep views of them), so a slab is replaced, not
   * reused, once its tail is too short. @returns read(2)'s result: commitRead() what it read
   */
  read(fd: number): number {
    if (SLAB_BYTES - this.#slabUsed < READ_BYTES_MIN) {
      this.#slab = Buffer.allocUnsafeSlow(SLAB_BYTES)
      this.#slabAddress = this.libc.address(this.#slab)
      this.#slabUsed = 0
    }
    return this.libc.readAt(fd, this.#slabAddress + this.#slabUsed, SLAB_BYTES - this.#slabUsed)
  }
  /** Takes `length` bytes of the last read() for good. */
  commitRead(length: number): Buffer {
    const bytes = this.#slab.subarray(this.#slabUsed, this.#slabUsed + length)
    this.#slabUsed += length
    return bytes
  }

  #control(op: number, fd: number, events: number): void {
    const event = this.#event
    event.writeUInt32LE(events, 0)
    event.writeUInt32LE(fd, EVENT_DATA_OFFSET)
    if (EVENT_DATA_OFFSET + 8 <= EVENT_BYTES) event.writeUInt32LE(0, EVENT_DATA_OFFSET + 4)
    this.libc.epoll_ctl(this.#epfd, op, fd, event)
  }

  #schedule(): void {
    if (this.#napTimer !== undefined) this.#endNap()
    if (this.#scheduled || this.#parked) return
    this.#scheduled = true
    setImmediate(poll, this)
  }

  /** @internal One turn: what is ready now, then again next turn, or park when nothing was. */
  poll(): void {
    this.#scheduled = false
    if (this.#targets.size === 0) return
    let count = this.libc.epollWaitAt(this.#epfd, this.#eventsAddress, EVENTS_MAX, 0)
    if (count > 0) {
      this.#emptyTurns = 0
      this.#napMs = NAP_MS_MIN
      for (let polls = 1; ; polls++) {
        this.#dispatch(this.#events, count)
        if (polls === POLLS_PER_TURN || this.#targets.size === 0) break
        count = this.libc.epollWaitAt(this.#epfd, this.#eventsAddress, EVENTS_MAX, 0)
        if (count <= 0) break
      }
      this.#schedule()
    } else if ((count < 0 && this.libc.errno() === EINTR) || ++this.#emptyTurns < EMPTY_TURNS_BEFORE_PARK) {
      this.#schedule()
    } else {
      this.#emptyTurns = 0
      this.#park()
    }
  }

  #park(): void {
    if (this.#parked || this.#targets.size === 0) return
    this.#parked = true
    if (this.#watch !== undefined) {
      this.#watch.start()
      return
    }
    if (!takeParkedWait(this.#parkedWaits)) {
      // No room on the thread pool: nap, then look again (and try for a parked wait again).
      this.#napTimer = setTimeout(endNap, this.#napMs, this)
      this.#napMs = Math.min(this.#napMs * 2, NAP_MS_MAX)
      return
    }
    this.#holdsParkedWait = true
    this.libc.epoll_wait.async(this.#epfd, this.#parkEvents, EVENTS_MAX, POOL_PARK_MS_MAX, (error: unknown, count: number) => {
      this.#giveBackParkedWait()
      this.#parked = false
      if (error === null && count > 0) this.#dispatch(this.#parkEvents, count)
      this.#schedule()
    })
  }

  /** @internal The nap timer fired: one poll at once, and straight back to parking if it finds nothing. */
  napEnded(): void {
    this.#napTimer = undefined
    this.#parked = false
    this.#emptyTurns = EMPTY_TURNS_BEFORE_PARK - 1
    this.poll()
  }

  #giveBackParkedWait(): void {
    if (!this.#holdsParkedWait) return
    this.#holdsParkedWait = false
    giveBackParkedWait(this.#parkedWaits)
  }

  #endWatch(): void {
    if (this.#watch === undefined || !this.#parked) return
    this.#watch.stop()
    this.#parked = false
  }

  #endNap(): void {
    if (this.#napTimer === undefined) return
    clearTimeout(this.#napTimer)
    this.#napTimer = undefined
    this.#parked = false
  }

  #dispatch(events: Buffer, count: number): void {
    for (let i = 0; i < count; i++) {
      const at = i * EVENT_BYTES
      const flags = events.readUInt32LE(at)
      const fd = events.readUInt32LE(at + EVENT_DATA_OFFSET)
      if (fd === this.#wakeFd) {
        while (this.libc.read(this.#wakeFd, this.#wakeBytes, 8) === 8) {}
        continue
      }
      // A target removed earlier in this batch (its fd closed) gets nothing.
      this.#targets.get(fd)?.onEvents(flags)
    }
  }
}

const ONE = Buffer.from([1, 0, 0, 0, 0, 0, 0, 0])
const SLAB_BYTES = 128 * 1024
const READ_BYTES_MIN = 16 * 1024

function poll(loop: EpollLoop): void {
  loop.poll()
}

function endNap(loop: EpollLoop): void {
  loop.napEnded()
}

