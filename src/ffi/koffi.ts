/*
 * The one place that loads koffi, the optional dependency through which wirespeed calls the C library:
 * shm_open/mmap/futex for channels between processes (src/shm/memory.ts), the system calls of the epoll
 * backend (./libc.ts) and libuv's watch (./node-loop-watch.ts). Loaded on first use, so a user who needs neither never pays for it or misses it. A
 * machine without koffi gets a KoffiMissingError naming the feature that wanted it.
 */
import { KoffiMissingError } from '../errors.ts'

/** koffi's API, typed as far as wirespeed uses it. */
export interface Koffi {
  /** A library, or with null the program itself and what it has loaded (dlopen(NULL)). */
  load(path: string | null): KoffiLibrary
  view(pointer: unknown, length: number): ArrayBuffer
  errno(): number
  alloc(type: string, count: number): unknown
  address(value: unknown): bigint
  encode(ref: unknown, type: string, value: unknown): void
  proto(signature: string): unknown
  pointer(type: unknown): unknown
  /** A C function pointer that calls `callback` (on this thread). */
  register(callback: (...args: any[]) => unknown, type: unknown): unknown
}

export interface KoffiLibrary {
  func(signature: string): (...args: unknown[]) => any
}

let koffi: Koffi | undefined

/**
 * koffi, loaded once.
 * @throws KoffiMissingError "<feature> needs the optional dependency koffi: run `npm install koffi` ..."
 * @example
 * const ffi = await loadKoffi('Channels between processes', 'thread channels work without it')
 */
export async function loadKoffi(feature: string, alternative: string): Promise<Koffi> {
  if (koffi) return koffi
  try {
    const module = (await import('koffi')) as { default?: Koffi } & Koffi
    koffi = module.default ?? module
    return koffi
  } catch (error) {
    throw new KoffiMissingError(`${feature} need the optional dependency koffi: run \`npm install koffi\` (${alternative})`, { cause: error })
  }
}

/** The C library of this system: libc on Linux, libSystem on macOS. */
export function libcPath(): string {
  return process.platform === 'darwin' ? 'libSystem.B.dylib' : 'libc.so.6'
}
