/*
 * Waiting for an epoll fd inside Node's own event loop, with no thread in between.
 *
 * An epoll fd is itself pollable: it reads as ready while any fd in its interest set is. libuv can watch
 * such an fd with a uv_poll_t, and Node exports libuv's functions (for native addons), so through koffi
 * we ask the libuv loop of this thread (node::GetCurrentEventLoop, which is the worker's own loop on a
 * worker thread) to watch the epoll fd: when nothing is ready, the thread sleeps in libuv's own
 * epoll_wait, and the kernel wakes it for our fds exactly as for Node's. Parked this way, a loop costs no
 * thread-pool thread, no handoff between threads, and nothing when idle.
 *
 * The callback runs in libuv's poll phase, outside any JavaScript callback scope, where promise jobs
 * would not run after it: so it only schedules the loop's next turn with setImmediate (Node's check phase
 * runs it right after the poll phase, in a proper scope).
 *
 * A worker thread ending with a libuv handle open aborts the process (node::CheckedUvLoopClose), and
 * worker.terminate() ends a thread without running its 'exit' listeners. So the handle is marked internal
 * to libuv (uv_loop_close skips those, as it does libuv's own), and a cleanup hook of the thread's Node
 * environment stops it before the loop closes (a hook runs even on terminate()): the hook is uv_poll_stop
 * itself, which takes the handle as its one argument. Marking it means writing libuv's private flags
 * field, so the layout is checked first (the handle's loop, type and flags where they should be, before
 * and after a start) and anything unexpected, or a runtime without these symbols, returns undefined: the
 * caller then waits on libuv's thread pool instead (src/tcp/epoll/loop.ts, src/tcp/park-budget.ts). So does any runtime but Node:
 * Bun, for one, has some of these symbols and aborts in them.
 *
 * The handle's memory comes from malloc and is never freed (one per thread, 160 bytes): after the hook
 * has stopped it, libuv may still read it until the loop closes.
 */
import type { Koffi } from './koffi.ts'

/** Starts and stops the watch: `onReady` runs (at most once per start) when the epoll fd reads as ready. */
export interface NodeLoopWatch {
  start(): void
  stop(): void
}

const UV_POLL = 8
const UV_READABLE = 1
/** uv_handle_t on 64-bit Linux: data, loop, type, close_cb, handle_queue, u, next_closing, flags. */
const HANDLE_LOOP_OFFSET = 8
const HANDLE_TYPE_OFFSET = 16
const HANDLE_FLAGS_OFFSET = 88
const UV_HANDLE_ACTIVE = 0x4
const UV_HANDLE_REF = 0x8
const UV_HANDLE_INTERNAL = 0x10
const RTLD_DEFAULT = null

/** @returns the watch, or undefined where this runtime's libuv cannot be reached or does not look as expected */
export function watchInNodeLoop(ffi: Koffi, epfd: number, onReady: () => void): NodeLoopWatch | undefined {
  if (process.platform !== 'linux' || (process.arch !== 'x64' && process.arch !== 'arm64')) return undefined
  // Bun answers to some of Node's and V8's symbols for addons, and aborts in node::GetCurrentEventLoop (seen
  // with Bun 1.4.5): only Node's own libuv is asked.
  if (process.versions.bun !== undefined || process.versions.deno !== undefined) return undefined
  const bound = bindOnce(ffi)
  if (bound === undefined) return undefined
  const isolate = bound.currentIsolate()
  const loop = isolate === null ? null : bound.currentEventLoop(isolate)
  if (loop === null) return undefined
  const size = Number(bound.uv_handle_size(UV_POLL))
  const handle = bound.malloc(size)
  if (handle === null || size < HANDLE_FLAGS_OFFSET + 4) return undefined
  if (bound.uv_poll_init(loop, handle, epfd) !== 0) return undefined
  const fields = new DataView(ffi.view(handle, size))
  const flags = () => fields.getUint32(HANDLE_FLAGS_OFFSET, true)
  const looksRight = fields.getBigUint64(HANDLE_LOOP_OFFSET, true) === ffi.address(loop) &&
    fields.getInt32(HANDLE_TYPE_OFFSET, true) === UV_POLL && flags() === UV_HANDLE_REF
  let active = false
  const callback = ffi.register(() => {
    if (!active) return
    active = false
    bound.uv_poll_stop(handle)
    onReady()
  }, ffi.pointer(bound.PollCallback))
  if (looksRight && bound.uv_poll_start(handle, UV_READABLE, callback) === 0 &&
    flags() === (UV_HANDLE_REF | UV_HANDLE_ACTIVE) && bound.uv_poll_stop(handle) === 0 && flags() === UV_HANDLE_REF) {
    fields.setUint32(HANDLE_FLAGS_OFFSET, UV_HANDLE_REF | UV_HANDLE_INTERNAL, true)
    bound.addCleanupHook(isolate, bound.dlsym(RTLD_DEFAULT, 'uv_poll_stop'), handle)
    return {
      start() {
        if (active) return
        active = true
        bound.uv_poll_start(handle, UV_READABLE, callback)
      },
      stop() {
        if (!active) return
        active = false
        bound.uv_poll_stop(handle)
      },
    }
  }
  // Not the layout this code knows: leave the handle stopped and unused. libuv would refuse to close a
  // worker's loop with it, so close it (its memory stays, as above).
  bound.uv_close(handle, null)
  return undefined
}

/** The calls, bound once per thread (a loop is one per thread); null where they cannot be. */
let calls: ReturnType<typeof bind> | null | undefined

function bindOnce(ffi: Koffi): ReturnType<typeof bind> | undefined {
  if (calls === undefined) {
    try {
      calls = bind(ffi)
    } catch {
      calls = null
    }
  }
  return calls ?? undefined
}

function bind(ffi: Koffi) {
  const self = ffi.load(null)
  // Unnamed: a named prototype is one per koffi instance, and a second copy of wirespeed in the same
  // thread (two versions in one app) would fail to declare it again.
  const PollCallback = ffi.proto('void (void *handle, int status, int events)')
  return {
    PollCallback,
    currentIsolate: self.func('void *_ZN2v87Isolate10GetCurrentEv()'),
    currentEventLoop: self.func('void *_ZN4node19GetCurrentEventLoopEPN2v87IsolateE(void *isolate)'),
    addCleanupHook: self.func('void _ZN4node25AddEnvironmentCleanupHookEPN2v87IsolateEPFvPvES3_(void *isolate, void *hook, void *argument)'),
    uv_handle_size: self.func('size_t uv_handle_size(int type)'),
    uv_poll_init: self.func('int uv_poll_init(void *loop, void *handle, int fd)'),
    uv_poll_start: self.func('int uv_poll_start(void *handle, int events, void *callback)'),
    uv_poll_stop: self.func('int uv_poll_stop(void *handle)'),
    uv_close: self.func('void uv_close(void *handle, void *callback)'),
    malloc: self.func('void *malloc(size_t size)'),
    dlsym: self.func('void *dlsym(void *library, const char *name)'),
  }
}
