/* The options a user gives `serve({ static })` or `new StaticFiles()`. */

/**
 * A folder to serve.
 * @example
 * serve({ static: { root: './public', cacheControl: 'max-age=60' } })
 */
export interface StaticOptions {
  /** The folder to serve. */
  root: string
  /** Files up to this size are kept in memory (default 1 MiB); larger ones stream from disk. */
  fileBytesMax?: number
  /** Total bytes of file bodies kept in memory (default 64 MiB), least recently used evicted. */
  cacheBytesMax?: number
  /** Serve names starting with "." (default false: they are 404). */
  dotfiles?: boolean
  /** Cache-Control for every file (default "no-cache": revalidate, answered 304 when unchanged). */
  cacheControl?: string
  /** Watch the root and drop changed files from memory (default true). */
  watch?: boolean
  /** Debounce window of the watcher in milliseconds (default 20). */
  debounceMs?: number
  /**
   * Content-Type by extension, over mime-db's (`{ glb: 'model/gltf-binary', log: 'text/plain' }`): a text,
   * JSON or XML type without parameters gets "; charset=utf-8". Only a name's last extension counts.
   */
  mimeTypes?: Record<string, string>
  /**
   * Compress compressible files held in memory (HTML, CSS, JS, JSON, SVG, WASM, source maps…) once, with
   * brotli, zstd and gzip, off the event loop, and serve the variant Accept-Encoding prefers (default true).
   * A precompressed sibling on disk (x.br, x.zst, x.gz) is served instead of a variant made here.
   */
  compress?: boolean
  /** Files smaller than this are not compressed (default 1024 bytes). */
  compressBytesMin?: number
  /** Files above fileBytesMax compressed as they stream, at once (default 16); past it they go as they are. */
  compressStreamsMax?: number
  /**
   * A single-page app (default false): a GET or HEAD that wants HTML (Accept has text/html or *\/*, or no
   * Accept) for a path whose last segment has no extension and names no file gets the root's index.html,
   * so a deep link reaches the app's router. Other misses (`/app.js`, a fetch with Accept: application/json)
   * still get 404, or go to the handler.
   */
  spa?: boolean
  /**
   * Clean URLs (default false): `/about` serves `about.html` when there is no file `about`, and
   * `/about.html` redirects (301) to `/about` (`/docs/index.html` to `/docs/`), keeping the query.
   */
  cleanUrls?: boolean
  /**
   * Trailing slashes, as serve.json's `trailingSlash` (default: neither forced): `true` redirects (301) a
   * folder or, with cleanUrls, a page named without its slash to the name with it (`/docs` → `/docs/`,
   * `/about` → `/about/`); `false` redirects a name with a slash to the name without (`/docs/` → `/docs`)
   * and serves a folder's index.html without the slash. Only names that exist are redirected, so made-up
   * paths get 404 at once.
   */
  trailingSlash?: boolean
  /**
   * The page sent with every 404 (default "404.html": the root's 404.html when there is one, as `serve`
   * and most hosts do); a path under the root, or false for the plain-text 404. With a handler behind the
   * files, misses go to it instead.
   */
  notFound?: string | false
  /**
   * List a folder that has no index.html (default false: 404), as HTML, or JSON when Accept prefers
   * application/json. Names are escaped; dotfiles stay hidden unless `dotfiles`; at most
   * listingEntriesMax entries (default 1000) are listed.
   */
  directoryListing?: boolean
  /** Entries a listing shows at most (default 1000); the rest are left out, and the listing says so. */
  listingEntriesMax?: number
  /**
   * CORS (default false): `true` sends `Access-Control-Allow-Origin: *` with every file, a string that
   * origin (with `Vary: Origin`). An OPTIONS preflight (with Access-Control-Request-Method) gets 204 with
   * Access-Control-Allow-Methods, the request headers it asked about, and Access-Control-Max-Age. With a
   * handler behind the files, OPTIONS requests go to it, preflights included (the app answers its own).
   */
  cors?: boolean | string
  /**
   * Extra headers, checked at start (a name must be a token, a value must have no control characters, and
   * fields the server writes, Content-Length, Content-Encoding, Connection…, are refused): on every file
   * (`{ 'X-Frame-Options': 'DENY' }`), or by glob of the file's path under the root, in serve.json's shape
   * (`[{ source: '**\/*.@(js|css)', headers: [{ key: 'Cache-Control', value: 'max-age=7200' }] }]`;
   * src/static/glob.ts says what a glob may hold); a later rule's field follows an earlier one's.
   */
  headers?: Record<string, string> | HeaderRule[]
  /**
   * Paths answered with another path's file when they have none, in serve.json's shape:
   * `[{ source: '/app/**', destination: '/index.html' }]`, the first that matches; a `:name` segment of the
   * source fills the destination's `:name`. A path that names a file is served as it is.
   */
  rewrites?: Rewrite[]
  /**
   * Paths sent elsewhere before anything is looked up, in serve.json's shape: `[{ source: '/old/:id',
   * destination: '/new/:id', type: 301 }]` (type: 301, 302, 303, 307 or 308; default 301), the first that
   * matches; the query is kept when the destination has none.
   */
  redirects?: Redirect[]
  /** Globs of names left out of directory listings (serve.json's `unlisted`), matched against the name's path. */
  unlisted?: string[]
  /**
   * Cache-Control for files whose names carry a content hash as Vite and webpack emit them
   * (`index-BzXqL3aK.js`, `main.3f2a9c1b.js`; src/static/site.ts says which names count), instead of
   * cacheControl; "public, max-age=31536000, immutable" is what such names allow. Default: cacheControl for
   * every file.
   */
  hashedCacheControl?: string
}

/** Headers for the files whose path under the root matches `source` (serve.json's `headers`). */
export interface HeaderRule {
  source: string
  headers: { key: string; value: string }[]
}

/** serve.json's `rewrites`: a path with no file answered with `destination`'s. */
export interface Rewrite {
  source: string
  destination: string
}

/** serve.json's `redirects`: `type` is the status (default 301). */
export interface Redirect {
  source: string
  destination: string
  type?: 301 | 302 | 303 | 307 | 308
}
