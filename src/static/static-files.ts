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
 * "/dir/". There is no directory listing. With `cleanUrls`, "/about" serves about.html and "/about.html"
 * redirects to "/about"; with `spa`, a miss for a page link (no extension, a request that takes HTML) gets
 * the root's index.html, the one entry of "/" for every such path (so made-up paths cannot fill the cache).
 *
 * A watcher on the root drops the entries a change touches (by path or real path, the file or a
 * precompressed sibling); a `rescan` drops them all. So an edit shows on the first request after the
 * watcher's debounce window.
 *
 * Conditional requests (If-None-Match, then If-Modified-Since: RFC 9110 §13.2.2) answer 304; a single
 * byte range answers 206 or 416 (RFC 9110 §14); several ranges, or an If-Range that does not match, get the
 * whole file.
 *
 * Compression: a file of a compressible type (./content-type.ts), held in memory and at least
 * `compressBytesMin` bytes, is compressed once after it is cached, with brotli, zstd and gzip
 * (./compress.ts), on the thread pool, one file at a time; until its variants are made it is served
 * identity. A variant is kept when it is smaller than the file and fits the cache's bound with it (its
 * bytes count there, and go when the file goes). A precompressed sibling on disk (x.br, x.zst, x.gz)
 * stands for the variant of its coding. The variant is chosen by Accept-Encoding's q-values
 * (./conditions.ts: ties go to br, then zstd, gzip, identity); a request that accepts none of the
 * codings the file has, identity included, gets 406 (RFC 9110 §12.5.3, §15.5.7). Each variant has its own
 * ETag; every reply of a file that has or may get variants says `Vary: Accept-Encoding`. A Range request
 * is served from the identity bytes (a variant's bytes are never split). A compressible file too large to
 * hold is compressed as it streams, per request (#streamCompressed), its length unknown (chunked).
 */
import assert from 'node:assert/strict'
import { opendir, readFile, realpath, stat } from 'node:fs/promises'
import { closeSync, createReadStream, openSync, read, type Stats } from 'node:fs'
import { pipeline } from 'node:stream'
import { join, resolve, sep } from 'node:path'
import { FileChangedError, NotAFolderError, PathNotFoundError, PathRefusedError } from '../errors.ts'
import type { Handler } from '../http/types.ts'
import type { Request } from '../http/request.ts'
import type { Response } from '../http/response.ts'
import { checkOptionNames, limitOrDefault, staticLimitSpecs } from '../limits.ts'
import type { Change } from '../watch/types.ts'
import { watch } from '../watch/watch.ts'
import { CODINGS, compressBody, compressStream, zstdAvailable, type Coding } from './compress.ts'
import { acceptedEncodings, etagMatches, ifRangeAllows, notModifiedSince } from './conditions.ts'
import { fileTypeOf, mimeTypeOverrides, type FileType } from './content-type.ts'
import { safeSegments } from './paths.ts'
import { parseRange } from './ranges.ts'
import type { StaticOptions } from './types.ts'
import { MemoryFile } from './memory-file.ts'
import { compileRules, firstMatch, headerLinesFor, type CompiledRules } from './rules.ts'
import { corsOrigin, isHashedName, listingHtml, listingJson, preflightLines, sortListing, wantsJson, type ListingEntry } from './site.ts'

interface Variant {
  file: string
  size: number
  /** The bytes in memory: as a Latin-1 string for small files, so the reply joins the connection's string batch. */
  body: Buffer | string | null
  etag: string
  lines: string
  /** The body copied into a file in memory for sendfile(2): undefined until a reply could use it, null when it cannot be made. */
  memoryFile?: MemoryFile | null
  /** Set on the variants of a file too large to hold: `file` is compressed with this coding as it is sent. */
  onTheFly?: Coding
}

interface Entry {
  /** The path looked up and its real path: a change to either drops the entry. */
  file: string
  real: string
  /** The path the request named: with clean URLs, "about" for about.html (a file created there takes over). */
  lookup: string
  mtimeMs: number
  lastModified: string
  /** The Content-Type header value. */
  type: string
  /** The Cache-Control line (by name: hashed or not) and the site's extra lines, in every variant's lines. */
  site: string
  identity: Variant
  /** Each coding's variant: a sibling on disk (x.br, x.zst, x.gz) or one made in memory; null when none. */
  br: Variant | null
  zstd: Variant | null
  gzip: Variant | null
  /** The reply depends on Accept-Encoding: the file has variants, or may get them once compressed. */
  varies: boolean
  /** Waiting for its variants to be made (#compressQueue). */
  compresses: boolean
  /** Set for "/dir" (a folder without its slash): where to send the client. */
  redirect: string | null
  /** A folder without index.html, listed (directoryListing): `real` is the folder, read for each request. */
  listing: boolean
  bytes: number
  /** Used since the eviction hand last passed (CLOCK, an LRU approximation that costs a hit one store). */
  used: boolean
}

/** Every key of StaticOptions; `satisfies` keeps the list equal to the interface. */
const staticOptionNames = { root: true, fileBytesMax: true, cacheBytesMax: true, dotfiles: true, cacheControl: true, watch: true, debounceMs: true, mimeTypes: true, compress: true, compressBytesMin: true, compressStreamsMax: true, spa: true, cleanUrls: true, trailingSlash: true, notFound: true, directoryListing: true, listingEntriesMax: true, cors: true, headers: true, hashedCacheControl: true, rewrites: true, redirects: true, unlisted: true } as const satisfies Record<keyof StaticOptions, true>

/**
 * Throws a TypeError unless `options` is an object with a `root` and no key StaticOptions does not have (a
 * typo such as `cachecontrl`, or another server's `gzip`, would otherwise be ignored without a word).
 * @example
 * checkStaticOptions({ root: './public', gzip: true }) // TypeError: Unknown option static.gzip: expected one of root, …
 * @internal
 */
export function checkStaticOptions(options: StaticOptions): void {
  if (typeof options !== 'object' || options === null) throw new TypeError(`Invalid option static: expected a folder path or an object with root, got ${options === null ? 'null' : typeof options}`)
  checkOptionNames('static', options, Object.keys(staticOptionNames))
  if (typeof options.root !== 'string') throw new TypeError(`Invalid option static.root: expected the path of a folder, got ${typeof options.root}`)
  if (options.mimeTypes !== undefined) mimeTypeOverrides(options.mimeTypes)
  for (const name of ['compress', 'spa', 'cleanUrls', 'dotfiles', 'watch', 'trailingSlash', 'directoryListing'] as const) {
    if (options[name] !== undefined && typeof options[name] !== 'boolean') throw new TypeError(`Invalid option static.${name}: expected true or false, got ${typeof options[name]}`)
  }
  limitOrDefault('compressBytesMin', options.compressBytesMin, staticLimitSpecs.compressBytesMin)
  limitOrDefault('compressStreamsMax', options.compressStreamsMax, staticLimitSpecs.compressStreamsMax)
  limitOrDefault('listingEntriesMax', options.listingEntriesMax, staticLimitSpecs.listingEntriesMax)
  corsOrigin(options.cors)
  compileRules(options)
  for (const name of ['cacheControl', 'hashedCacheControl'] as const) {
    const value = options[name]
    if (value !== undefined && (typeof value !== 'string' || /[\0-\x08\x0a-\x1f\x7f]/.test(value))) throw new TypeError(`Invalid option static.${name}: expected a Cache-Control value without control characters, got ${JSON.stringify(value)}`)
  }
  const notFound = options.notFound
  if (notFound !== undefined && notFound !== false && (typeof notFound !== 'string' || notFound.replace(/^\/+/, '') === '')) {
    throw new TypeError(`Invalid option static.notFound: expected the path of a page under the root (such as "404.html") or false, got ${JSON.stringify(notFound)}`)
  }
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
/** The cache key of the 404 page: no request path starts with NUL, so no request can name it. */
const NOT_FOUND_KEY = '\0notFound'
/**
 * Before a rewrite's destination in its cache key: it is served as the file (a folder's index.html), with
 * none of the redirects cleanUrls and trailingSlash would make for it as a request path.
 */
const REWRITE_KEY = '\0rewrite:'
const VARY = 'Vary: Accept-Encoding\r\n'
const VARY_ACCEPT = 'Vary: Accept\r\n'
/** The extension of each coding's precompressed sibling on disk. */
const SIBLING_EXTENSIONS = { br: 'br', zstd: 'zst', gzip: 'gz' } as const satisfies Record<Coding, string>


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
  readonly #mimeTypes: Map<string, FileType> | undefined
  readonly #compress: boolean
  readonly #spa: boolean
  readonly #cleanUrls: boolean
  readonly #trailingSlash: boolean | undefined
  /** The 404 page's path under the root, as a request path ("/404.html"), or null for plain-text 404s. */
  readonly #notFoundPath: string | null
  readonly #directoryListing: boolean
  readonly #listingEntriesMax: number
  /** Access-Control-Allow-Origin's value, or null without CORS. */
  readonly #corsOrigin: string | null
  /** Header lines every file and listing gets: CORS's. */
  readonly #siteLines: string
  /** redirects, rewrites, headers and unlisted, compiled. */
  readonly #rules: CompiledRules
  readonly #hashedCacheControl: string
  readonly #compressBytesMin: number
  readonly #compressStreamsMax: number
  /** Files being compressed as they stream (#streamCompressed), bounded by compressStreamsMax. */
  #compressStreams = 0
  /**
   * The keys of cached entries waiting for their variants, oldest first, compressed one at a time by
   * #compressAll. A dropped entry leaves it (#drop), so it never holds more than the cache does.
   */
  readonly #compressQueue = new Set<string>()
  /** The run of #compressAll under way, if any. */
  #compressing: Promise<void> | null = null
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
    this.#mimeTypes = options.mimeTypes === undefined ? undefined : mimeTypeOverrides(options.mimeTypes)
    this.#compress = options.compress ?? true
    this.#spa = options.spa ?? false
    this.#cleanUrls = options.cleanUrls ?? false
    this.#trailingSlash = options.trailingSlash
    const notFound = options.notFound ?? '404.html'
    this.#notFoundPath = notFound === false ? null : '/' + notFound.split('/').filter((segment) => segment !== '').map(encodeURIComponent).join('/')
    this.#directoryListing = options.directoryListing ?? false
    this.#listingEntriesMax = limitOrDefault('listingEntriesMax', options.listingEntriesMax, staticLimitSpecs.listingEntriesMax)
    this.#corsOrigin = corsOrigin(options.cors)
    this.#siteLines = this.#corsOrigin === null ? '' : `Access-Control-Allow-Origin: ${this.#corsOrigin}\r\n${this.#corsOrigin === '*' ? '' : 'Vary: Origin\r\n'}`
    this.#rules = compileRules(options)
    this.#hashedCacheControl = options.hashedCacheControl ?? this.#cacheControl
    this.#compressBytesMin = limitOrDefault('compressBytesMin', options.compressBytesMin, staticLimitSpecs.compressBytesMin)
    this.#compressStreamsMax = limitOrDefault('compressStreamsMax', options.compressStreamsMax, staticLimitSpecs.compressStreamsMax)
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
    if (this.#rules.redirects.length > 0 && this.#redirected(request, response)) return
    const entry = this.#cache.get(key)
    if (entry === undefined) return this.#miss(key, request, response, fallback)
    entry.used = true
    return this.#reply(entry, request, response)
  }

  /** Answers with the first of `redirects` whose source matches the path, if one does. @returns true when it did */
  #redirected(request: Request, response: Response): boolean {
    const found = firstMatch(this.#rules.redirects, decodedPath(request.path))
    if (found === null) return false
    const query = request.query
    const location = query === '' || found.destination.includes('?') ? found.destination : `${found.destination}?${query}`
    response.status(found.rule.status).setHeader('Location', location).send('')
    return true
  }

  /**
   * A path with no file that a rewrite matches: the destination's file (cached under the destination's
   * path, so made-up paths add nothing to the cache), or what a miss gets.
   */
  async #rewritten(destination: string, request: Request, response: Response, fallback: Handler | undefined): Promise<void> {
    let entry: Entry
    try {
      entry = await this.#loadOnce(REWRITE_KEY + destination)
    } catch (error) {
      if (!(error instanceof PathRefusedError)) throw error
      if (fallback !== undefined) return fallback(request, response)
      return this.#notFound(request, response, `Not Found: ${request.path} (rewritten to ${destination}, which has no file)\n`)
    }
    return this.#reply(entry, request, response)
  }

  /**
   * OPTIONS on a path, without a fallback: 204 with Allow once the path names a file (else what GET would
   * get); with `cors`, a preflight (Access-Control-Request-Method) gets the Access-Control-Allow-* lines.
   */
  #options(request: Request, response: Response): void | Promise<void> {
    const key = request.path
    if (this.#cache.has(key)) return response.sendPrepared(204, this.#optionsLines(request), null, 0)
    return this.#miss(key, request, response, undefined)
  }

  #optionsLines(request: Request): string {
    if (this.#corsOrigin === null) return ALLOW
    if (request.header('access-control-request-method') === undefined) return ALLOW + this.#siteLines
    return ALLOW + preflightLines(this.#corsOrigin, request.header('access-control-request-headers'))
  }

  async #miss(key: string, request: Request, response: Response, fallback: Handler | undefined): Promise<void> {
    await this.#ready
    let entry: Entry
    try {
      entry = await this.#loadOnce(key)
    } catch (error) {
      if (!(error instanceof PathRefusedError)) throw error
      if (error.status === 404 && request.method !== 'OPTIONS' && this.#rules.rewrites.length > 0) {
        const found = firstMatch(this.#rules.rewrites, decodedPath(key))
        const destination = found?.destination.split('?')[0]
        if (destination !== undefined && destination !== key) return this.#rewritten(destination, request, response, fallback)
      }
      if (error.status === 404 && this.#spa && request.method !== 'OPTIONS' && wantsAppShell(key, request.header('accept'))) return this.#appShell(request, response, fallback)
      if (error.status === 404 && fallback !== undefined) return fallback(request, response)
      if (error.status === 404) return this.#notFound(request, response, `Not Found: ${error.message}\n`)
      response.status(error.status).send(`Bad Request: ${error.message}\n`)
      return
    }
    if (request.method === 'OPTIONS') return response.sendPrepared(204, this.#optionsLines(request), null, 0)
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
          if (entry.compresses && this.#cache.get(key) === entry) this.#queueCompression(key)
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

  /**
   * Answers with `entry`: its redirect, or the variant Accept-Encoding picks, as 304, 206/416 or 200.
   * `extraLines` follow the variant's header lines (the single-page app's `Vary: Accept`).
   */
  #reply(entry: Entry, request: Request, response: Response, extraLines = '', waited = false): void | Promise<void> {
    if (entry.redirect !== null) {
      const query = request.query
      response.status(301).setHeader('Location', query === '' ? entry.redirect : `${entry.redirect}?${query}`).send('')
      return
    }
    if (entry.listing) return this.#sendListing(entry, request, response)
    const variant = entry.varies ? this.#negotiate(entry, request, response, waited) : entry.identity
    if (variant === null) return
    // A client that refuses identity asked for a file whose variants are still being made: it waits for them.
    if (variant === 'later') return this.compressed().then(() => this.#reply(entry, request, response, extraLines, true))
    const lines = extraLines === '' ? variant.lines : variant.lines + extraLines
    const ifNoneMatch = request.header('if-none-match')
    if (ifNoneMatch !== undefined ? etagMatches(ifNoneMatch, variant.etag) : notModifiedSince(request.header('if-modified-since'), entry.mtimeMs)) {
      response.sendPrepared(304, lines, null, 0)
      return
    }
    // Ranges are served from the identity bytes only: a variant is always sent whole.
    const range = request.method === 'GET' && variant === entry.identity ? request.header('range') : undefined
    if (range !== undefined && ifRangeAllows(request.header('if-range'), variant.etag, entry.lastModified)) {
      const span = parseRange(range, variant.size)
      if (span === 'unsatisfiable') {
        response.sendPrepared(416, `Content-Range: bytes */${variant.size}\r\n${lines}`, null, 0)
        return
      }
      if (span !== null) {
        const [start, end] = span
        const rangeLines = `Content-Range: bytes ${start}-${end}/${variant.size}\r\n${lines}`
        const body = variant.body
        if (body === null) return this.#stream(response, 206, rangeLines, variant, start, end)
        if (!this.#sendFromMemoryFile(entry, variant, request, response, 206, rangeLines, start, end)) {
          response.sendPrepared(206, rangeLines, typeof body === 'string' ? body.slice(start, end + 1) : body.subarray(start, end + 1), end - start + 1)
        }
        return
      }
    }
    if (variant.onTheFly !== undefined) return this.#streamCompressed(response, variant, lines, variant.onTheFly)
    if (variant.body === null) return this.#stream(response, 200, lines, variant, 0, variant.size - 1)
    if (!this.#sendFromMemoryFile(entry, variant, request, response, 200, lines, 0, variant.size - 1)) {
      response.sendPrepared(200, lines, variant.body, variant.size)
    }
  }

  /**
   * The variant of a file that varies which Accept-Encoding picks (identity without the header), or null
   * once it has answered itself: 406 when nothing the file has is acceptable (or 'later' when its variants
   * are still to be made and the caller has not `waited` for them yet), 503 when the pick is to be
   * compressed as it streams, every such stream is taken, and the client refuses identity.
   */
  #negotiate(entry: Entry, request: Request, response: Response, waited: boolean): Variant | 'later' | null {
    const accepted = request.header('accept-encoding')
    if (accepted === undefined) return entry.identity
    const chosen = chooseVariant(entry, accepted, request.header('range') !== undefined)
    if (chosen === null) {
      if (entry.compresses && !waited) return 'later'
      response.status(406).setHeader('Vary', 'Accept-Encoding').send(`Not Acceptable: ${request.path} is not available in a coding that Accept-Encoding accepts\n`)
      return null
    }
    if (chosen.onTheFly === undefined || this.#compressStreams < this.#compressStreamsMax) return chosen
    // Every on-the-fly stream is taken: the file as it is, where the client takes that.
    if (acceptedEncodings(accepted).identity > 0) return entry.identity
    response.status(503).setHeader('Retry-After', '1').setHeader('Vary', 'Accept-Encoding').send(`Service Unavailable: ${request.path} is being compressed for as many clients as compressStreamsMax allows\n`)
    return null
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

  /**
   * The single-page app's answer to a deep link: the root's index.html (the entry of "/", cached once for
   * every deep link rather than once per path), or what the miss would have had without it.
   */
  async #appShell(request: Request, response: Response, fallback: Handler | undefined): Promise<void> {
    let entry: Entry
    try {
      entry = await this.#loadOnce('/')
    } catch (error) {
      if (!(error instanceof PathRefusedError)) throw error
      if (fallback !== undefined) return fallback(request, response)
      return this.#notFound(request, response, `Not Found: ${request.path} (and no index.html for the single-page app)\n`)
    }
    // The answer for this path depends on Accept: a request that does not take HTML gets 404 or the handler.
    return this.#reply(entry, request, response, VARY_ACCEPT)
  }

  /**
   * Sends a file too large to hold compressed as it is read: zlib's stream works on the thread pool, and
   * each side waits on the other (the file is read as fast as zlib takes it, zlib's output as fast as the
   * client reads it), so a slow client holds about a chunk and zlib's window, never the file. The length is
   * not known ahead: chunked on HTTP/1.1, the close ends it on HTTP/1.0. HEAD gets the head alone.
   */
  async #streamCompressed(response: Response, variant: Variant, lines: string, coding: Coding): Promise<void> {
    // HEAD: the head alone, with no length (it is not known without compressing the file).
    if (response.request.method === 'HEAD') return response.sendPrepared(200, lines, null, -1)
    response.status(200).prepare(lines)
    this.#compressStreams++
    const source = createReadStream(variant.file, { highWaterMark: STREAM_CHUNK_BYTES })
    const compressed = compressStream(coding, variant.size)
    pipeline(source, compressed, () => {}) // (an error reaches the loop below through `compressed`)
    try {
      for await (const chunk of compressed) {
        if (response.closed) break
        if (!response.write(chunk as Buffer)) await response.drain()
      }
    } finally {
      this.#compressStreams--
      source.destroy()
      compressed.destroy()
    }
    response.end()
  }

  /** Resolves a request path to a cache entry. @throws PathRefusedError */
  async #load(key: string): Promise<Entry> {
    if (key === NOT_FOUND_KEY) return this.#loadNotFoundPage()
    if (key.startsWith(REWRITE_KEY)) return this.#loadRewritten(key.slice(REWRITE_KEY.length))
    const segments = safeSegments(key, this.#dotfiles)
    const lookup = join(this.#realRoot, ...segments)
    const slashed = key.endsWith('/')
    // (undefined: neither forced; a folder still gets its slash, as it always has.)
    const slash = this.#trailingSlash
    const unslashed = key.replace(/\/+$/, '')
    let stats = await statOrNull(lookup)
    if (this.#cleanUrls && segments.length > 0) {
      // "/about.html" → "/about" ("/docs/index.html" → "/docs/"), when the file is there to be served so.
      if (stats !== null && stats.isFile() && key.endsWith('.html')) {
        const bare = key.slice(0, -'.html'.length)
        const folder = bare.slice(0, -'index'.length)
        return this.#redirectEntry(lookup, bare.endsWith('/index') ? (slash === false && folder !== '/' ? folder.slice(0, -1) : folder) : slash === true ? `${bare}/` : bare)
      }
      // "/about" → about.html, before a folder "about/" (a static export may have both); with trailingSlash,
      // "/about/" is the page's name and "/about" redirects there (or the other way round).
      if (stats === null || stats.isDirectory()) {
        const html = await statOrNull(`${lookup}.html`)
        if (html !== null && html.isFile()) {
          if (slashed === (slash === true)) return this.#fileEntry(key, `${lookup}.html`, html, lookup)
          if (slash === true) return this.#redirectEntry(lookup, `${key}/`)
          if (slash === false) return this.#redirectEntry(lookup, unslashed)
        }
      }
    }
    if (stats === null) throw new PathRefusedError(404, key)
    let file = lookup
    if (stats.isDirectory()) {
      if (!slashed && slash !== false) return this.#redirectEntry(lookup, `${key}/`)
      if (slashed && slash === false && segments.length > 0) return this.#redirectEntry(lookup, unslashed)
      file = join(lookup, 'index.html')
      stats = await statOrNull(file)
      if (stats === null || !stats.isFile()) {
        if (this.#directoryListing) return this.#listingEntry(key, lookup)
        throw new PathRefusedError(404, key)
      }
    } else if (!stats.isFile()) {
      throw new PathRefusedError(404, key)
    } else if (slashed && slash === false) {
      return this.#redirectEntry(lookup, unslashed)
    }
    return this.#fileEntry(key, file, stats, lookup)
  }

  /** A rewrite's destination: the file, or a folder's index.html, never a redirect. @throws PathRefusedError */
  async #loadRewritten(path: string): Promise<Entry> {
    const lookup = join(this.#realRoot, ...safeSegments(path, this.#dotfiles))
    let file = lookup
    let stats = await statOrNull(lookup)
    if (stats !== null && stats.isDirectory()) stats = await statOrNull((file = join(lookup, 'index.html')))
    if ((stats === null || !stats.isFile()) && this.#cleanUrls) stats = await statOrNull((file = `${lookup}.html`))
    if (stats === null || !stats.isFile()) throw new PathRefusedError(404, path)
    return this.#fileEntry(path, file, stats, lookup)
  }

  /** The 404 page's entry (under NOT_FOUND_KEY, so the watcher and the cache treat it as any file). @throws PathRefusedError */
  async #loadNotFoundPage(): Promise<Entry> {
    const path = this.#notFoundPath
    if (path === null) throw new PathRefusedError(404, 'no 404 page')
    const file = join(this.#realRoot, ...safeSegments(path, this.#dotfiles))
    const stats = await statOrNull(file)
    if (stats === null || !stats.isFile()) throw new PathRefusedError(404, path)
    return this.#fileEntry(path, file, stats, file)
  }

  /**
   * Answers a miss with 404: the 404 page (notFound) when the root has it and the request is a GET or HEAD,
   * in the coding Accept-Encoding picks among the variants it has now, else `text`.
   */
  async #notFound(request: Request, response: Response, text: string): Promise<void> {
    let entry: Entry | null = this.#cache.get(NOT_FOUND_KEY) ?? null
    if (entry !== null) entry.used = true
    else if (this.#notFoundPath !== null && (request.method === 'GET' || request.method === 'HEAD')) {
      try {
        entry = await this.#loadOnce(NOT_FOUND_KEY)
      } catch (error) {
        if (!(error instanceof PathRefusedError)) throw error
      }
    }
    if (entry === null || entry.identity.body === null || (request.method !== 'GET' && request.method !== 'HEAD')) {
      response.status(404).send(text)
      return
    }
    const accepted = request.header('accept-encoding')
    let variant = accepted === undefined || !entry.varies ? entry.identity : (chooseVariant(entry, accepted, false) ?? entry.identity)
    if (variant.body === null) variant = entry.identity
    // A 404 is not a representation of the page: no validators, no ranges.
    const lines = variant.lines.replace(/^(?:ETag|Last-Modified|Accept-Ranges): [^\r]*\r\n/gm, '')
    response.sendPrepared(404, lines, variant.body, variant.size)
  }

  /** A file's path under the root as headers' globs see it: "/assets/app.js". */
  #pathUnderRoot(file: string): string {
    const path = file.startsWith(this.#realRoot) ? file.slice(this.#realRoot.length) : file
    return sep === '/' ? path : path.split(sep).join('/')
  }

  /** The entry of a folder without index.html that is listed. @throws PathRefusedError 404 outside the root */
  async #listingEntry(key: string, folder: string): Promise<Entry> {
    const real = await realpath(folder)
    if (real !== this.#realRoot && !real.startsWith(this.#realRoot + sep)) throw new PathRefusedError(404, key)
    const entry = this.#redirectEntry(folder, '')
    entry.redirect = null
    entry.real = real
    entry.listing = true
    return entry
  }

  /** True when `unlisted` has a glob for the name, or for its path under the root. */
  #unlisted(folder: string, name: string): boolean {
    for (const glob of this.#rules.unlisted) {
      if (glob.match(`/${name}`) !== null || glob.match(`${decodedPath(folder)}${name}`) !== null) return true
    }
    return false
  }

  /**
   * Lists a folder: its first listingEntriesMax names (in the order the file system gives them, dotfiles
   * left out unless served), folders first, as HTML or, when Accept prefers it, JSON. The folder is read for
   * each request (a listing is for browsing, not for speed), never whole.
   */
  async #sendListing(entry: Entry, request: Request, response: Response): Promise<void> {
    const entries: ListingEntry[] = []
    let truncated = false
    try {
      // (The loop closes the folder when it ends or breaks.)
      for await (const dirent of await opendir(entry.real)) {
        if (dirent.name.startsWith('.') && !this.#dotfiles) continue
        if (this.#unlisted(request.path, dirent.name)) continue
        if (entries.length >= this.#listingEntriesMax) {
          truncated = true
          break
        }
        entries.push({ name: dirent.name, directory: dirent.isDirectory(), size: null, modified: null })
      }
    } catch {
      response.status(404).send(`Not Found: ${request.path}\n`)
      return
    }
    await Promise.all(entries.map(async (item) => {
      const stats = await statOrNull(join(entry.real, item.name))
      if (stats === null) return
      item.directory = stats.isDirectory()
      item.modified = new Date(stats.mtimeMs).toISOString()
      if (!item.directory) item.size = stats.size
    }))
    sortListing(entries)
    const json = wantsJson(request.header('accept'))
    const body = Buffer.from(json ? listingJson(request.path, entries, truncated) : listingHtml(request.path, entries, truncated))
    const lines = `Content-Type: ${json ? 'application/json' : 'text/html'}; charset=utf-8\r\nCache-Control: no-cache\r\nVary: Accept\r\nX-Content-Type-Options: nosniff\r\n${this.#siteLines}${headerLinesFor(this.#rules, decodedPath(request.path))}`
    response.sendPrepared(200, lines, body, body.length)
  }

  /** The entry of `file`, found by looking up `lookup` (whose creation or deletion drops it too). @throws PathRefusedError */
  async #fileEntry(key: string, file: string, stats: Stats, lookup: string): Promise<Entry> {
    const real = await realpath(file)
    if (real !== this.#realRoot && !real.startsWith(this.#realRoot + sep)) throw new PathRefusedError(404, key)
    const lastModified = new Date(stats.mtimeMs).toUTCString()
    const fileType = fileTypeOf(file, this.#mimeTypes)
    const type = fileType.contentType
    // A header rule's Cache-Control takes the place of ours (two would contradict each other).
    const extra = headerLinesFor(this.#rules, this.#pathUnderRoot(file))
    const cacheControl = /^cache-control:/im.test(extra) ? '' : `Cache-Control: ${isHashedName(file) ? this.#hashedCacheControl : this.#cacheControl}\r\n`
    const site = `${cacheControl}${this.#siteLines}${extra}`
    const identity = await this.#variant(real, stats, type, '', lastModified, site)
    const br = await this.#sibling(real, 'br', type, lastModified, site)
    const zstd = await this.#sibling(real, 'zstd', type, lastModified, site)
    const gzip = await this.#sibling(real, 'gzip', type, lastModified, site)
    const compressible = this.#compress && fileType.compressible && identity.size >= this.#compressBytesMin &&
      (br === null || (zstd === null && zstdAvailable) || gzip === null)
    const compresses = compressible && identity.body !== null
    const entry: Entry = { file, real, lookup, mtimeMs: stats.mtimeMs, lastModified, type, site, identity, br, zstd, gzip, varies: false, compresses, redirect: null, listing: false, bytes: 0, used: false }
    // Too large to hold: each coding without a sibling is compressed as it is sent (#streamCompressed).
    if (compressible && identity.body === null) {
      const etagStem = identity.etag.slice(0, -1)
      for (const coding of CODINGS) {
        if (entry[coding] !== null || (coding === 'zstd' && !zstdAvailable)) continue
        entry[coding] = { ...this.#variantOf(real, null, identity.size, `${etagStem}-${coding}"`, type, coding, lastModified, site), onTheFly: coding }
      }
    }
    entry.varies = compressible || br !== null || zstd !== null || gzip !== null
    if (entry.varies) identity.lines += VARY
    entry.bytes = (identity.body?.length ?? 0) + (br?.body?.length ?? 0) + (zstd?.body?.length ?? 0) + (gzip?.body?.length ?? 0)
    return entry
  }

  async #sibling(real: string, coding: Coding, type: string, lastModified: string, site: string): Promise<Variant | null> {
    const file = `${real}.${SIBLING_EXTENSIONS[coding]}`
    const stats = await statOrNull(file)
    if (stats === null || !stats.isFile()) return null
    return this.#variant(file, stats, type, coding, lastModified, site)
  }

  async #variant(file: string, stats: Stats, type: string, coding: Coding | '', lastModified: string, site: string): Promise<Variant> {
    const etag = `"${stats.size.toString(16)}-${Math.floor(stats.mtimeMs).toString(16)}${coding ? `-${coding}` : ''}"`
    const bytes = stats.size <= this.#fileBytesMax ? await readFile(file) : null
    return this.#variantOf(file, bytes, stats.size, etag, type, coding, lastModified, site)
  }

  /**
   * A variant's reply, made once: its header lines, and its body as a Latin-1 string when small. A coded
   * variant says so and varies, and does not offer ranges (they are served from the identity bytes).
   * `site` is the entry's Cache-Control line and the site's extra lines (CORS, headers).
   */
  #variantOf(file: string, bytes: Buffer | null, size: number, etag: string, type: string, coding: Coding | '', lastModified: string, site: string): Variant {
    const body = bytes !== null && bytes.length <= TEXT_BYTES_MAX ? bytes.toString('latin1') : bytes
    const lines =
      `Content-Type: ${type}\r\nETag: ${etag}\r\nLast-Modified: ${lastModified}\r\n${site}` +
      (coding === '' ? 'Accept-Ranges: bytes\r\n' : `Content-Encoding: ${coding}\r\n${VARY}`) + 'X-Content-Type-Options: nosniff\r\n'
    return { file, size: body?.length ?? size, body, etag, lines }
  }

  #queueCompression(key: string): void {
    this.#compressQueue.add(key)
    // (.finally runs after the assignment even when the run ends at once.)
    this.#compressing ??= this.#compressAll().finally(() => (this.#compressing = null))
  }

  /**
   * Checks the cache's accounting: an AssertionError when an invariant does not hold, which is a bug (for
   * tests). The bytes held are the sum of the entries' bytes, within cacheBytesMax; an entry's bytes are its
   * bodies and their copies in memory; every key waiting for compression is cached.
   * @internal
   */
  invariants(): void {
    let total = 0
    for (const [key, entry] of this.#cache) {
      let bytes = 0
      for (const variant of [entry.identity, entry.br, entry.zstd, entry.gzip]) {
        if (variant === null) continue
        bytes += variant.body?.length ?? 0
        if (variant.memoryFile) bytes += variant.size
      }
      if (bytes !== entry.bytes) assert.fail(`Entry ${key} counts ${entry.bytes} bytes but holds ${bytes}`)
      total += bytes
    }
    if (total !== this.#cachedBytes) assert.fail(`The cache counts ${this.#cachedBytes} bytes but its entries hold ${total}`)
    if (total > this.#cacheBytesMax) assert.fail(`The cache holds ${total} bytes, over cacheBytesMax ${this.#cacheBytesMax}`)
    for (const key of this.#compressQueue) if (!this.#cache.has(key)) assert.fail(`${key} waits for compression but is not cached`)
  }

  /**
   * Resolves once no cached file waits for its compressed variants.
   * @internal for tests: replies never wait for compression
   */
  async compressed(): Promise<void> {
    while (this.#compressing !== null) await this.#compressing
  }

  /**
   * Makes the variants of the queued entries, one file and one coding at a time, so a cold site takes at
   * most one of the thread pool's threads from the file reads of cache misses. An entry dropped meanwhile
   * (evicted, or changed on disk) is skipped, and what was made for it is thrown away.
   */
  async #compressAll(): Promise<void> {
    for (let next = this.#compressQueue.values().next(); !next.done; next = this.#compressQueue.values().next()) {
      const key = next.value
      this.#compressQueue.delete(key)
      const entry = this.#cache.get(key)
      const body = entry?.identity.body
      if (entry === undefined || !entry.compresses || body === null || body === undefined) continue
      const source = typeof body === 'string' ? Buffer.from(body, 'latin1') : body
      const made: [Coding, Buffer][] = []
      for (const coding of CODINGS) {
        if (this.#cache.get(key) !== entry) break
        if (entry[coding] !== null || (coding === 'zstd' && !zstdAvailable)) continue
        // (zlib fails only without memory: then the file is served as it is.)
        const bytes = await compressBody(coding, source).catch(() => null)
        if (bytes !== null && bytes.length < source.length) made.push([coding, bytes])
      }
      entry.compresses = false
      if (this.#cache.get(key) === entry) this.#addVariants(entry, made)
    }
  }

  /** Keeps each variant that fits the cache's bound with its file (in br, zstd, gzip order), then evicts others to fit. */
  #addVariants(entry: Entry, made: [Coding, Buffer][]): void {
    // The identity tag with the coding: "size-mtime" becomes "size-mtime-br", as a sibling's tag would read.
    const etagStem = entry.identity.etag.slice(0, -1)
    for (const [coding, bytes] of made) {
      if (entry.bytes + bytes.length > this.#cacheBytesMax) continue
      entry[coding] = this.#variantOf(entry.real, bytes, bytes.length, `${etagStem}-${coding}"`, entry.type, coding, entry.lastModified, entry.site)
      entry.bytes += bytes.length
      this.#cachedBytes += bytes.length
    }
    this.#evict(entry)
  }

  /**
   * An entry that redirects to `location`, a path on this server: leading slashes collapse to one, so a
   * request for "//example.com/x.html" can never send the client to "//example.com/x", another host.
   */
  #redirectEntry(folder: string, location: string): Entry {
    location = location.replace(/^\/{2,}/, '/')
    const identity: Variant = { file: folder, size: 0, body: null, etag: '', lines: '' }
    return { file: folder, real: folder, lookup: folder, mtimeMs: 0, lastModified: '', type: '', site: '', identity, br: null, zstd: null, gzip: null, varies: false, compresses: false, redirect: location, listing: false, bytes: 0, used: false }
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
    this.#compressQueue.delete(key)
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
    this.#compressQueue.clear()
    this.#cachedBytes = 0
  }
}

/** The entry is no longer cached: its copies in memory close (once no send holds them). */
function dropMemoryFiles(entry: Entry): void {
  entry.identity.memoryFile?.drop()
  entry.br?.memoryFile?.drop()
  entry.zstd?.memoryFile?.drop()
  entry.gzip?.memoryFile?.drop()
}

/**
 * A deep link of a single-page app: a path whose last segment has no extension ("/users/42", not
 * "/app.js"), asked for by something that takes HTML (a browser's navigation sends text/html; curl sends
 * *\/*; no Accept means anything), as connect-history-api-fallback decides.
 */
function wantsAppShell(key: string, accept: string | undefined): boolean {
  if (key.slice(key.lastIndexOf('/') + 1).includes('.')) return false
  return accept === undefined || accept.includes('text/html') || accept.includes('*/*')
}

/**
 * The variant of `entry` that Accept-Encoding prefers: the highest weight above 0, ties going to br, zstd,
 * gzip, then identity. A Range request gets identity whenever identity is acceptable.
 * @returns null when no variant the file has is acceptable (406)
 */
function chooseVariant(entry: Entry, accepted: string, ranged: boolean): Variant | null {
  const weights = acceptedEncodings(accepted)
  if (ranged && weights.identity > 0) return entry.identity
  let chosen: Variant | null = null
  let weight = 0
  for (const coding of CODINGS) {
    const variant = entry[coding]
    if (variant !== null && weights[coding] > weight) {
      chosen = variant
      weight = weights[coding]
    }
  }
  return weights.identity > weight ? entry.identity : chosen
}

/** True when a change at `path` concerns the entry: the file, its real path, a sibling, a folder above, or one in a listed folder. */
function touches(path: string, entry: Entry): boolean {
  // A listed folder: anything made or removed in it (an index.html) may change its answer.
  if (entry.listing && path.startsWith(entry.real + sep)) return true
  for (const file of [entry.file, entry.real, entry.lookup]) {
    if (file === path || file.startsWith(path + sep) || path.startsWith(`${file}.`)) return true
  }
  return false
}

/** A request path decoded for globs (as it was sent when it cannot be). */
function decodedPath(path: string): string {
  try {
    return decodeURIComponent(path)
  } catch {
    return path
  }
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
