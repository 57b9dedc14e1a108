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
}
