/*
 * Static files: a folder served from memory, with the correctness nginx has.
 *
 * A request path is looked up in `#cache` by its raw (still percent-encoded) text, so a hit costs one Map
 * lookup and one prepared reply: the header lines (Content-Type, ETag, Last-Modified, Cache-Control,
 * Accept-Ranges, Vary) are made once per file and the body is a Buffer. Files up to `fileBytesMax` are kept
 * whole (on the epoll backend, a body above 16 KiB also as a copy in memory that sendfile(2) sends:
 * ./memory-file.ts); larger ones keep only their metadata and stream from disk, never read whole: by
 * sendfile(2) on the epoll backend, in chunks with backpressure on node:net. The bytes held are bounded by `cacheBytesMax`, evicting about the least recently used: a hit sets
 * the entry's `used` bit; eviction walks the Map from its oldest entry, gives a used entry a second chance
 * (clears the bit, moves it to the end) and drops the first unused one (the CLOCK algorithm).
 *
 * A miss resolves the path once, safely, and once for all the requests that miss it while it loads:
 * encoded slashes and backslashes, NUL, and "." or ".." segments are refused (400); dotfiles are hidden
 * unless allowed (404); the file's real path (symlinks resolved) must lie inside the root's real path
 * (else 404). A folder serves its index.html; "/dir" redirects to
 * "/dir/". There is no directory listing.
 *
 * A watcher on the root drops the entries a change touches (by path or real path, the file or a
 * precompressed sibling); a `rescan` drops them all. So an edit shows on the first request after the
 * watcher's debounce window.
 *
 * Conditional requests (If-None-Match, then If-Modified-Since: RFC 9110 §13.2.2) answer 304; a single
 * byte range answers 206 or 416 (RFC 9110 §14); several ranges, or an If-Range that does not match, get the
 * whole file. Precompressed siblings (x.br, x.gz) are served when Accept-Encoding allows them.
 */
import { readFile, realpath, stat } from 'node:fs/promises'
import { closeSync, openSync, read, type Stats } from 'node:fs'
import { join, resolve, sep } from 'node:path'
import { FileChangedError, NotAFolderError, PathNotFoundError, PathRefusedError } from '../errors.ts'
import type { Handler } from '../http/types.ts'
import type { Request } from '../http/request.ts'
import type { Response } from '../http/response.ts'
import { checkOptionNames, limitOrDefault, staticLimitSpecs } from '../limits.ts'
import type { Change } from '../watch/types.ts'
import { watch } from '../watch/watch.ts'
import { accepts, etagMatches, ifRangeAllows, notModifiedSince } from './conditions.ts'
import { contentTypeOf } from './content-type.ts'
import { safeSegments } from './paths.ts'
import { parseRange } from './ranges.ts'
import type { StaticOptions } from './types.ts'
import { MemoryFile } from './memory-file.ts'

interface Variant {
  file: string
  size: number
  /** The bytes in memory: as a Latin-1 string for small files, so the reply joins the connection's string batch. */
  body: Buffer | string | null
  etag: string
  lines: string
  /** The body copied into a file in memory for sendfile(2): undefined until a reply could use it, null when it cannot be made. */
  memoryFile?: MemoryFile | null
}

interface Entry {
  /** The path looked up and its real path: a change to either drops the entry. */
  file: string
  real: string
  mtimeMs: number
  lastModified: string
  identity: Variant
  br: Variant | null
  gzip: Variant | null
  /** Set for "/dir" (a folder without its slash): where to send the client. */
  redirect: string | null
  bytes: number
  /** Used since the eviction hand last passed (CLOCK, an LRU approximation that costs a hit one store). */
  used: boolean
}

/** Every key of StaticOptions; `satisfies` keeps the list equal to the interface. */
const staticOptionNames = { root: true, fileBytesMax: true, cacheBytesMax: true, dotfiles: true, cacheControl: true, watch: true, debounceMs: true } as const satisfies Record<keyof StaticOptions, true>

/**
 * Throws a TypeError unless `options` is an object with a `root` and no key StaticOptions does not have (a
 * typo such as `cachecontrl`, or another server's `spa`, would otherwise be ignored without a word).
 * @example
 * checkStaticOptions({ root: './public', spa: true }) // TypeError: Unknown option static.spa: expected one of root, …
 * @internal
 */
export function checkStaticOptions(options: StaticOptions): void {
  if (typeof options !== 'object' || options === null) throw new TypeError(`Invalid option static: expected a folder path or an object with root, got ${options === null ? 'null' : typeof options}`)
  checkOptionNames('static', options, Object.keys(staticOptionNames))
  if (typeof options.root !== 'string') throw new TypeError(`Invalid option static.root: expected the path of a folder, got ${typeof options.root}`)
}

/** Files up to this size are kept as Latin-1 strings (byte for byte), larger ones as Buffers. */
const TEXT_BYTES_MAX = 16 * 1024

const STREAM_CHUNK_BYTES = 64 * 1024
/**
 * Bodies from this size on leave by sendfile(2) from a copy in memory where the transport has it (epoll),
 * which spares copying them into the socket (measured, server CPU per request against send(2) of the
 * Buffer: 0.69x for a 32 KiB file, 0.80x for 100 KiB). Smaller bodies are strings joined into the batch.
 */
const SENDFILE_BYTES_MIN = TEXT_BYTES_MAX
const ALLOW = 'Allow: GET, HEAD, OPTIONS\r\n'


/**
 * Serves a folder.
 * @example
 * const files = new StaticFiles({ root: './public' })
 * const server = await serve({ port: 5001, handler: (request, response) => files.handle(request, response) })
 */
export class StaticFiles {
  readonly root: string
  readonly #fileBytesMax: number
  readonly #cacheBytesMax: number
  readonly #dotfiles: boolean
  readonly #cacheControl: string
  readonly #cache = new Map<string, Entry>()
  /** Loads under way, by key: concurrent misses of one path share one (#loadOnce). */
  readonly #loading = new Map<string, Promise<Entry>>()
  /** Counts invalidations: a load that began before one serves its requests but is not cached. */
  #generation = 0
  #cachedBytes = 0
  #realRoot = ''
  #stopWatching: (() => void) | null = null
  #ready: Promise<void>

  constructor(options: StaticOptions) {
    checkStaticOptions(options)
    this.root = resolve(options.root)
    this.#fileBytesMax = limitOrDefault('fileBytesMax', options.fileBytesMax, staticLimitSpecs.fileBytesMax)
    this.#cacheBytesMax = limitOrDefault('cacheBytesMax', options.cacheBytesMax, staticLimitSpecs.cacheBytesMax)
    this.#dotfiles = options.dotfiles ?? false
    this.#cacheControl = options.cacheControl ?? 'no-cache'
    if (/[\r\n\0]/.test(this.#cacheControl)) throw new TypeError('Invalid option cacheControl: CR, LF and NUL are not allowed')
    this.#ready = this.#start(options)
  }

  async #start(options: StaticOptions): Promise<void> {
    let stats: Stats
    try {
      this.#realRoot = await realpath(this.root)
      stats = await stat(this.#realRoot)
    } catch {
      throw new PathNotFoundError(`Cannot serve ${this.root}: the folder does not exist`)
    }
    if (!stats.isDirectory()) throw new NotAFolderError(`Cannot serve ${this.root}: it is not a folder`)
    if (options.watch ?? true) {
      this.#stopWatching = watch(this.#realRoot, { debounceMs: options.debounceMs ?? 20 }, (changes) => this.invalidate(changes))
    }
  }

  /** Resolves once the root is checked and watched; rejects with a clear message when it cannot be served. */
  ready(): Promise<void> {
    return this.#ready
  }

  /** Bytes of file bodies held in memory. */
  get cachedBytes(): number {
    return this.#cachedBytes
  }

  /** Stops the watcher. */
  close(): void {
    this.#stopWatching?.()
    this.#stopWatching = null
    this.#clear()
  }

  /** Drops what `changes` touch (everything on a rescan). */
  invalidate(changes: readonly Change[]): void {
    for (const change of changes) {
      if (change.type === 'rescan') return this.#clear()
    }
    this.#forgetLoads()
    for (const [key, entry] of this.#cache) {
      for (const change of changes) {
        if (touches(change.path, entry) || (change.from !== undefined && touches(change.from, entry))) {
          this.#drop(key, entry)
          break
        }
      }
    }
  }

  /**
   * Answers a GET or HEAD for a file under the root (or 304, 206, 301, 400, 404, 405, 416), and OPTIONS on
   * one with 204 and the methods a file answers (RFC 9110 §9.3.7). With a `fallback`, a missing file and
   * any other method (OPTIONS too: an app may answer CORS preflights) go to it instead of 404 and 405.
   * @returns a promise only when the file had to be looked up or streamed
   */
  handle(request: Request, response: Response, fallback?: Handler): void | Promise<void> {
    const method = request.method
    if (method !== 'GET' && method !== 'HEAD') {
      if (fallback !== undefined) return fallback(request, response)
      if (method === 'OPTIONS') return this.#options(request, response)
      response.sendPrepared(405, ALLOW, null, 0)
      return
    }
    const key = request.path
    const entry = this.#cache.get(key)
    if (entry === undefined) return this.#miss(key, request, response, fallback)
    entry.used = true
    return this.#reply(entry, request, response)
  }

  /** OPTIONS on a path, without a fallback: 204 with Allow once the path names a file (else what GET would get). */
  #options(request: Request, response: Response): void | Promise<void> {
    const key = request.path
    if (this.#cache.has(key)) return response.sendPrepared(204, ALLOW, null, 0)
    return this.#miss(key, request, response, undefined)
  }

  async #miss(key: string, request: Request, response: Response, fallback: Handler | undefined): Promise<void> {
    await this.#ready
    let entry: Entry
    try {
      entry = await this.#loadOnce(key)
    } catch (error) {
      if (!(error instanceof PathRefusedError)) throw error
      if (error.status === 404 && fallback !== undefined) return fallback(request, response)
      response.status(error.status).send(`${error.status === 404 ? 'Not Found' : 'Bad Request'}: ${error.message}\n`)
      return
    }
    if (request.method === 'OPTIONS') return response.sendPrepared(204, ALLOW, null, 0)
    return this.#reply(entry, request, response)
  }

  /**
   * One load per path at a time: the requests that miss it while it loads wait for the same load, so a burst
   * on a cold cache reads each file once and holds one copy of it, not one per request (100 requests for a
   * file of fileBytesMax bytes would otherwise hold 100 copies at once). The entry is cached unless the
   * watcher reported a change while it loaded: then it serves the requests that asked, and the next
   * request loads the file again.
   */
  #loadOnce(key: string): Promise<Entry> {
    const loading = this.#loading.get(key)
    if (loading !== undefined) return loading
    const generation = this.#generation
    const load = this.#load(key).then(
      (entry) => {
        if (generation === this.#generation) {
          this.#loading.delete(key)
          this.#remember(key, entry)
        }
        return entry
      },
      (error: unknown) => {
        if (generation === this.#generation) this.#loading.delete(key)
        throw error
      },
    )
    this.#loading.set(key, load)
    return load
  }

  #reply(entry: Entry, request: Request, response: Response): void | Promise<void> {
    if (entry.redirect !== null) {
      const query = request.query
      response.status(301).setHeader('Location', query === '' ? entry.redirect : `${entry.redirect}?${query}`).send('')
      return
    }
    let variant = entry.identity
    if (entry.br !== null || entry.gzip !== null) {
      const accepted = request.header('accept-encoding')
      if (accepted !== undefined && request.header('range') === undefined) {
        if (entry.br !== null && accepts(accepted, 'br')) variant = entry.br
        else if (entry.gzip !== null && accepts(accepted, 'gzip')) variant = entry.gzip
      }
    }
    const ifNoneMatch = request.header('if-none-match')
    if (ifNoneMatch !== undefined ? etagMatches(ifNoneMatch, variant.etag) : notModifiedSince(request.header('if-modified-since'), entry.mtimeMs)) {
      response.sendPrepared(304, variant.lines, null, 0)
      return
    }
    const range = request.method === 'GET' ? request.header('range') : undefined
    if (range !== undefined && ifRangeAllows(request.header('if-range'), variant.etag, entry.lastModified)) {
      const span = parseRange(range, variant.size)
      if (span === 'unsatisfiable') {
        response.sendPrepared(416, `Content-Range: bytes */${variant.size}\r\n${variant.lines}`, null, 0)
        return
      }
      if (span !== null) {
        const [start, end] = span
        const lines = `Content-Range: bytes ${start}-${end}/${variant.size}\r\n${variant.lines}`
        const body = variant.body
        if (body === null) return this.#stream(response, 206, lines, variant, start, end)
        if (!this.#sendFromMemoryFile(entry, variant, request, response, 206, lines, start, end)) {
          response.sendPrepared(206, lines, typeof body === 'string' ? body.slice(start, end + 1) : body.subarray(start, end + 1), end - start + 1)
        }
        return
      }
    }
    if (variant.body === null) return this.#stream(response, 200, variant.lines, variant, 0, variant.size - 1)
    if (!this.#sendFromMemoryFile(entry, variant, request, response, 200, variant.lines, 0, variant.size - 1)) {
      response.sendPrepared(200, variant.lines, variant.body, variant.size)
    }
  }

  /**
   * Sends bytes [start, end] of a cached body by sendfile(2) from its copy in memory, when the body is large
   * enough, the transport can and the entry is held by the cache (which owns the copy; making it counts its
   * bytes there too). @returns false when it did not: then send the bytes from memory
   */
  #sendFromMemoryFile(entry: Entry, variant: Variant, request: Request, response: Response, status: number, lines: string, start: number, end: number): boolean {
    const body = variant.body
    if (typeof body === 'string' || body === null || end - start + 1 < SENDFILE_BYTES_MIN || !response.canSendFile) return false
    let file = variant.memoryFile
    if (file === undefined) {
      if (this.#cache.get(request.path) !== entry || entry.bytes + variant.size > this.#cacheBytesMax) return false
      file = variant.memoryFile = MemoryFile.create(body)
      if (file !== null) {
        entry.bytes += variant.size
        this.#cachedBytes += variant.size
        this.#evict(entry)
      }
    }
    // (Eviction may have dropped this very entry, and its copy with it.)
    if (file === null || file.closed) return false
    response.status(status).prepare(lines).setHeader('Content-Length', end - start + 1)
    file.acquire()
    if (response.sendFile(file.fd, start, end - start + 1, () => file.release())) {
      response.end()
      return true
    }
    file.release()
    response.end(body.subarray(start, end + 1))
    return true
  }

  /**
   * Streams bytes [start, end] of a file too large to keep: with sendfile(2) where the transport has it,
   * else in chunks read here, waiting on backpressure.
   */
  async #stream(response: Response, status: number, lines: string, variant: Variant, start: number, end: number): Promise<void> {
    // HEAD (or nothing to send): the head alone, with the length the body would have.
    if (response.request.method === 'HEAD' || end < start) return response.sendPrepared(status, lines, null, end - start + 1)
    response.status(status).prepare(lines).setHeader('Content-Length', end - start + 1)
    // One open, synchronous (microseconds for a local file; the thread pool's round trip cost more than a
    // whole sendfile). The epoll transport then sends the file itself (sendfile(2)): the bytes never pass
    // through JavaScript; elsewhere they are read here, asynchronously, in chunks.
    const fd = openSync(variant.file, 'r')
    if (response.sendFile(fd, start, end - start + 1, () => closeSync(fd))) return response.end()
    try {
      let position = start
      while (position <= end && !response.closed) {
        const chunk = Buffer.allocUnsafe(Math.min(STREAM_CHUNK_BYTES, end - position + 1))
        const bytesRead = await readAt(fd, chunk, position)
        // The file shrank under us: the promised length cannot be kept, so the connection must close.
        if (bytesRead === 0) throw new FileChangedError(`${variant.file} shrank while it was being sent`)
        position += bytesRead
        if (!response.write(bytesRead === chunk.length ? chunk : chunk.subarray(0, bytesRead))) await response.drain()
      }
    } finally {
      closeSync(fd)
    }
    response.end()
  }

  /** Resolves a request path to a cache entry. @throws PathRefusedError */
  async #load(key: string): Promise<Entry> {
    const segments = safeSegments(key, this.#dotfiles)
    const lookup = join(this.#realRoot, ...segments)
    let stats = await statOrNull(lookup)
    if (stats === null) throw new PathRefusedError(404, key)
    let file = lookup
    if (stats.isDirectory()) {
      if (!key.endsWith('/')) return this.#redirectEntry(lookup, `${key}/`)
      file = join(lookup, 'index.html')
      stats = await statOrNull(file)
      if (stats === null || !stats.isFile()) throw new PathRefusedError(404, key)
    } else if (!stats.isFile()) {
      throw new PathRefusedError(404, key)
    }
    const real = await realpath(file)
    if (real !== this.#realRoot && !real.startsWith(this.#realRoot + sep)) throw new PathRefusedError(404, key)
    const lastModified = new Date(stats.mtimeMs).toUTCString()
    const type = contentTypeOf(file)
    const identity = await this.#variant(real, stats, type, '', lastModified)
    const br = await this.#sibling(real, 'br', type, lastModified)
    const gzip = await this.#sibling(real, 'gz', type, lastModified)
    if (br !== null || gzip !== null) {
      identity.lines += 'Vary: Accept-Encoding\r\n'
    }
    const bytes = (identity.body?.length ?? 0) + (br?.body?.length ?? 0) + (gzip?.body?.length ?? 0)
    return { file, real, mtimeMs: stats.mtimeMs, lastModified, identity, br, gzip, redirect: null, bytes, used: false }
  }

  async #sibling(real: string, extension: 'br' | 'gz', type: string, lastModified: string): Promise<Variant | null> {
    const file = `${real}.${extension}`
    const stats = await statOrNull(file)
    if (stats === null || !stats.isFile()) return null
    const encoding = extension === 'br' ? 'br' : 'gzip'
    const variant = await this.#variant(file, stats, type, encoding, lastModified)
    variant.lines += `Content-Encoding: ${encoding}\r\nVary: Accept-Encoding\r\n`
    return variant
  }

  async #variant(file: string, stats: Stats, type: string, encoding: string, lastModified: string): Promise<Variant> {
    const etag = `"${stats.size.toString(16)}-${Math.floor(stats.mtimeMs).toString(16)}${encoding ? `-${encoding}` : ''}"`
    const bytes = stats.size <= this.#fileBytesMax ? await readFile(file) : null
    const body = bytes !== null && bytes.length <= TEXT_BYTES_MAX ? bytes.toString('latin1') : bytes
    const lines =
      `Content-Type: ${type}\r\nETag: ${etag}\r\nLast-Modified: ${lastModified}\r\nCache-Control: ${this.#cacheControl}\r\n` +
      'Accept-Ranges: bytes\r\nX-Content-Type-Options: nosniff\r\n'
    return { file, size: body?.length ?? stats.size, body, etag, lines }
  }

  #redirectEntry(folder: string, location: string): Entry {
    const identity: Variant = { file: folder, size: 0, body: null, etag: '', lines: '' }
    return { file: folder, real: folder, mtimeMs: 0, lastModified: '', identity, br: null, gzip: null, redirect: location, bytes: 0, used: false }
  }

  #remember(key: string, entry: Entry): void {
    const old = this.#cache.get(key)
    if (old !== undefined) this.#drop(key, old)
    if (entry.bytes > this.#cacheBytesMax) return
    this.#cache.set(key, entry)
    this.#cachedBytes += entry.bytes
    this.#evict(entry)
  }

  /** Drops entries until the bytes held fit cacheBytesMax; `keep` gets no second chance (CLOCK). */
  #evict(keep: Entry): void {
    // Each entry gets at most one second chance, so this ends within two passes.
    while (this.#cachedBytes > this.#cacheBytesMax) {
      const [oldest, candidate] = this.#cache.entries().next().value!
      if (candidate.used && candidate !== keep) {
        this.#cache.delete(oldest)
        candidate.used = false
        this.#cache.set(oldest, candidate)
      } else {
        this.#drop(oldest, candidate)
      }
    }
  }

  #drop(key: string, entry: Entry): void {
    this.#cache.delete(key)
    this.#cachedBytes -= entry.bytes
    dropMemoryFiles(entry)
  }

  /** The loads under way may have read what changed: they answer their requests but are not cached. */
  #forgetLoads(): void {
    this.#generation++
    this.#loading.clear()
  }

  #clear(): void {
    this.#forgetLoads()
    for (const entry of this.#cache.values()) dropMemoryFiles(entry)
    this.#cache.clear()
    this.#cachedBytes = 0
  }
}

/** The entry is no longer cached: its copies in memory close (once no send holds them). */
function dropMemoryFiles(entry: Entry): void {
  entry.identity.memoryFile?.drop()
  entry.br?.memoryFile?.drop()
  entry.gzip?.memoryFile?.drop()
}

/** True when a change at `path` concerns the entry: the file, its real path, a sibling, or a folder above. */
function touches(path: string, entry: Entry): boolean {
  for (const file of [entry.file, entry.real]) {
    if (file === path || file.startsWith(path + sep) || path.startsWith(`${file}.`)) return true
  }
  return false
}

async function statOrNull(path: string): Promise<Stats | null> {
  try {
    return await stat(path)
  } catch {
    return null
  }
}

/** Reads into all of `chunk` from `position` of the open file `fd`, on the thread pool. @returns the bytes read */
function readAt(fd: number, chunk: Buffer, position: number): Promise<number> {
  return new Promise((resolve, reject) => read(fd, chunk, 0, chunk.length, position, (error, bytesRead) => (error ? reject(error) : resolve(bytesRead))))
}
