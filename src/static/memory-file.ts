/*
 * A file's cached bytes copied once into an unlinked file in memory (tmpfs, /dev/shm), so that a transport
 * with sendfile(2) (the epoll backend) sends them from the page cache without copying them out of
 * JavaScript on every request: sending 100 KiB through send(2) copies every byte into the socket's buffers,
 * and that copy was the largest item of the static server's profile. The copy is ours, made from the bytes
 * the reply's headers describe, so a file edited on disk cannot change what a cached reply sends (sending the
 * disk file itself could mix a new body with old headers).
 *
 * Lifetime: the cache entry owns it; every sendfile in flight holds it (`acquire`/`release`); it is closed
 * when the entry has dropped it and no send holds it any longer, so an fd number is never reused under a
 * send that still needs it. Where there is no /dev/shm, or copying would leave it less than half free (other
 * programs and wirespeed's own channels live there too; a container's is often only 64 MB), `create()` gives
 * null and the bytes are sent from memory as before.
 */
import { closeSync, openSync, statfsSync, unlinkSync, writeSync } from 'node:fs'

/** Where the copies are made: tmpfs on Linux (the only system whose transport has sendfile here). */
const MEMORY_FOLDER = '/dev/shm'
let made = 0

export class MemoryFile {
  readonly fd: number
  #users = 0
  #dropped = false

  private constructor(fd: number) {
    this.fd = fd
  }

  /**
   * Copies `bytes` into a new unlinked file in memory.
   * @returns null when that cannot be done here (no /dev/shm, no room): then send the bytes themselves
   */
  static create(bytes: Uint8Array): MemoryFile | null {
    try {
      const stats = statfsSync(MEMORY_FOLDER)
      if (!roomFor(bytes.length, stats.bavail * stats.bsize, stats.blocks * stats.bsize)) return null
    } catch {
      return null
    }
    const path = `${MEMORY_FOLDER}/.wirespeed-${process.pid}-${++made}`
    let fd = -1
    try {
      fd = openSync(path, 'wx+', 0o600)
      unlinkSync(path)
      for (let written = 0; written < bytes.length; ) written += writeSync(fd, bytes, written, bytes.length - written)
      return new MemoryFile(fd)
    } catch {
      if (fd >= 0) {
        closeSync(fd)
        try {
          unlinkSync(path)
        } catch {
          // Already unlinked.
        }
      }
      return null
    }
  }

  /** A send starts using the file. */
  acquire(): void {
    this.#users++
  }

  /** A send is done with the file (sent or not). */
  release(): void {
    this.#users--
    if (this.#dropped && this.#users === 0) closeSync(this.fd)
  }

  /** The cache no longer holds the file: it closes now, or when the last send using it is done. */
  drop(): void {
    if (this.#dropped) return
    this.#dropped = true
    if (this.#users === 0) closeSync(this.fd)
  }

  /** True once the file is closed (for tests). */
  get closed(): boolean {
    return this.#dropped && this.#users === 0
  }
}

/**
 * True when a copy of `bytes` leaves at least half of the memory folder free: `free` and `total` are its
 * available and total bytes.
 */
export function roomFor(bytes: number, free: number, total: number): boolean {
  return free - bytes >= total / 2
}
