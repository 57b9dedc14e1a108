/*
 * The memory under a channel, and how a side sleeps on it.
 *
 * Threads share a SharedArrayBuffer; a side sleeps with Atomics.wait and is woken with Atomics.notify.
 * Processes share a named POSIX shared-memory object (shm_open, ftruncate, mmap) reached through the
 * optional koffi FFI library; `koffi.view()` turns the mapping into a plain ArrayBuffer on which the
 * Atomics load/store/compareExchange work but Atomics.wait does not, so on Linux a side sleeps with the
 * futex syscall on the word itself (a shared, not private, futex: the two processes map the same page).
 * Elsewhere a side spins, then sleeps a millisecond at a time. Windows maps with CreateFileMappingW and
 * MapViewOfFile. The macOS and Windows paths are written but cannot be tested on this project's machines.
 *
 * Facts that shape this file (koffi 3): mmap failure is all-ones, not null; a view touched after munmap
 * crashes the process, so `Mapping.unmap()` is guarded by the channel's closed flag and never runs twice.
 */
import { ChannelNotFoundError, SystemCallError } from '../errors.ts'
import { libcPath, loadKoffi, type Koffi } from '../ffi/koffi.ts'

export interface Sleeper {
  /** Sleeps while `words[index]` equals `value`, for at most `timeoutMs`. */
  wait(words: Int32Array, index: number, value: number, timeoutMs: number): void
  /** Wakes whoever sleeps on `words[index]`. */
  wake(words: Int32Array, index: number): void
}

/** Sleeping between threads. */
export const threadSleeper: Sleeper = {
  wait(words, index, value, timeoutMs) {
    Atomics.wait(words, index, value, timeoutMs)
  },
  wake(words, index) {
    Atomics.notify(words, index)
  },
}

const napWords = new Int32Array(new SharedArrayBuffer(4))
/** Spin-then-nap, where no futex is reachable. */
const napSleeper: Sleeper = {
  wait(words, index, value) {
    if (Atomics.load(words, index) === value) Atomics.wait(napWords, 0, 0, 1)
  },
  wake() {},
}

/** A named shared-memory object mapped into this process. */
export interface Mapping {
  readonly buffer: ArrayBuffer
  readonly sleeper: Sleeper
  unmap(): void
  unlink(): void
}

const SYS_FUTEX: Partial<Record<string, number>> = { x64: 202, arm64: 98 }
const FUTEX_WAIT = 0
const FUTEX_WAKE = 1

/**
 * Maps the shared-memory object `name` ("/something"), creating it (size `bytes`) or opening it.
 * @throws Error saying what failed: no koffi, no such object, or the system call and its errno
 */
export async function mapShared(name: string, bytes: number, create: boolean): Promise<Mapping> {
  if (!/^\/[A-Za-z0-9._-]{1,200}$/.test(name)) {
    throw new RangeError(`Invalid channel name ${JSON.stringify(name)}: expected "/" then letters, digits, ".", "_" or "-"`)
  }
  const ffi = await loadKoffi('Channels between processes', 'thread channels work without it')
  if (process.platform === 'win32') return mapWindows(ffi, name, bytes, create)
  const libc = ffi.load(libcPath())
  const shmOpen = libc.func(process.platform === 'darwin' ? 'int shm_open(const char *name, int oflag, ...)' : 'int shm_open(const char *name, int oflag, uint32_t mode)')
  const shmUnlink = libc.func('int shm_unlink(const char *name)')
  const ftruncate = libc.func('int ftruncate(int fd, int64_t length)')
  const mmap = libc.func('intptr_t mmap(intptr_t addr, size_t length, int prot, int flags, int fd, int64_t offset)')
  const munmap = libc.func('int munmap(intptr_t addr, size_t length)')
  const close = libc.func('int close(int fd)')
  const darwin = process.platform === 'darwin'
  const O_RDWR = 2
  const O_CREAT = darwin ? 0x200 : 0o100
  const O_EXCL = darwin ? 0x800 : 0o200
  const PROT_READ_WRITE = 3
  const MAP_SHARED = 1
  const fail = (call: string) => {
    const errno = ffi.errno()
    return new SystemCallError(`Cannot map channel ${name}: ${call} failed with errno ${errno}`, call, errno)
  }

  if (create) shmUnlink(name) // a stale object from a process that died: take its place
  const open = (flags: number) => (darwin ? shmOpen(name, flags, 'uint32_t', 0o600) : shmOpen(name, flags, 0o600))
  const fd = open(create ? O_RDWR | O_CREAT | O_EXCL : O_RDWR) as number
  if (fd < 0) {
    if (!create && ffi.errno() === 2) throw new ChannelNotFoundError(`No channel named ${name}: start the side that creates it first`)
    throw fail('shm_open')
  }
  let size = bytes
  if (create) {
    if (ftruncate(fd, bytes) !== 0) {
      close(fd)
      throw fail('ftruncate')
    }
  } else {
    const fstatSize = await import('node:fs').then((fs) => fs.fstatSync(fd).size)
    size = fstatSize
  }
  const pointer = mmap(0, size, PROT_READ_WRITE, MAP_SHARED, fd, 0) as number | bigint
  close(fd)
  // A failed mmap returns MAP_FAILED, all ones (-1), not null.
  if (pointer === -1 || pointer === -1n || BigInt(pointer) === 0xffff_ffff_ffff_ffffn) throw fail('mmap')
  const buffer = ffi.view(pointer, size)
  const base = BigInt(pointer)
  let mapped = true

  let sleeper: Sleeper = napSleeper
  const futexNumber = SYS_FUTEX[process.arch]
  if (process.platform === 'linux' && futexNumber !== undefined) {
    const syscall = libc.func('long syscall(long nr, intptr_t uaddr, int op, int val, intptr_t timeout, intptr_t uaddr2, int val3)')
    // The timeout lives in koffi-allocated memory, which the garbage collector never moves.
    const timespec = ffi.alloc('int64_t', 2)
    const timespecAddress = ffi.address(timespec)
    let timespecMs = -1
    sleeper = {
      wait(words, index, value, timeoutMs) {
        const ms = Math.max(1, Math.floor(timeoutMs))
        if (ms !== timespecMs) {
          ffi.encode(timespec, 'int64_t[2]', [BigInt(Math.floor(ms / 1000)), BigInt((ms % 1000) * 1_000_000)])
          timespecMs = ms
        }
        syscall(futexNumber, base + BigInt(words.byteOffset + index * 4), FUTEX_WAIT, value, timespecAddress, 0n, 0)
      },
      wake(words, index) {
        syscall(futexNumber, base + BigInt(words.byteOffset + index * 4), FUTEX_WAKE, 0x7fffffff, 0n, 0n, 0)
      },
    }
  }
  return {
    buffer,
    sleeper,
    unmap() {
      if (!mapped) return
      mapped = false
      munmap(pointer, size)
    },
    unlink() {
      shmUnlink(name)
    },
  }
}

/** Windows: a named file mapping backed by the paging file. Written to the documentation; not tested here. */
function mapWindows(ffi: Koffi, name: string, bytes: number, create: boolean): Mapping {
  const kernel32 = ffi.load('kernel32.dll')
  const createMapping = kernel32.func('intptr_t __stdcall CreateFileMappingW(intptr_t file, intptr_t security, uint32_t protect, uint32_t sizeHigh, uint32_t sizeLow, const char16_t *name)')
  const openMapping = kernel32.func('intptr_t __stdcall OpenFileMappingW(uint32_t access, int inherit, const char16_t *name)')
  const mapView = kernel32.func('intptr_t __stdcall MapViewOfFile(intptr_t mapping, uint32_t access, uint32_t offsetHigh, uint32_t offsetLow, size_t bytes)')
  const unmapView = kernel32.func('int __stdcall UnmapViewOfFile(intptr_t address)')
  const closeHandle = kernel32.func('int __stdcall CloseHandle(intptr_t handle)')
  const PAGE_READWRITE = 0x04
  const FILE_MAP_ALL_ACCESS = 0xf001f
  const objectName = `Local\\wirespeed${name.replaceAll('/', '_')}`
  const handle = create ? createMapping(-1, 0, PAGE_READWRITE, 0, bytes, objectName) : openMapping(FILE_MAP_ALL_ACCESS, 0, objectName)
  if (!handle) throw new SystemCallError(`Cannot map channel ${name}: ${create ? 'CreateFileMappingW' : 'OpenFileMappingW'} failed`, create ? 'CreateFileMappingW' : 'OpenFileMappingW', 0)
  const pointer = mapView(handle, FILE_MAP_ALL_ACCESS, 0, 0, bytes)
  if (!pointer) throw new SystemCallError(`Cannot map channel ${name}: MapViewOfFile failed`, 'MapViewOfFile', 0)
  let mapped = true
  return {
    buffer: ffi.view(pointer, bytes),
    sleeper: napSleeper,
    unmap() {
      if (!mapped) return
      mapped = false
      unmapView(pointer)
      closeHandle(handle)
    },
    unlink() {},
  }
}
