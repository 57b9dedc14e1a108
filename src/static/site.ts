/*
 * The site behaviour of a static folder beyond serving its files: extra response headers (checked once, at
 * start), CORS, the cache policy of files whose names carry a content hash, and directory listings.
 *
 * Everything here is plain data and pure functions, so `StaticOptions` stays cloneable to worker threads
 * and these rules are tested without a socket.
 */

/** A header field name: a token (RFC 9110 §5.1, §5.6.2). */
const FIELD_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/
/** A field value: visible characters, spaces, tabs and obs-text, no leading or trailing whitespace (RFC 9110 §5.5). */
const FIELD_VALUE = /^(?:[\x21-\x7e\x80-\xff](?:[\t\x20-\x7e\x80-\xff]*[\x21-\x7e\x80-\xff])?)?$/
/** Fields the server writes itself from the reply: set from a config, they would contradict the body or the connection. */
const MANAGED_FIELDS = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade', 'content-encoding', 'content-range', 'trailer', 'te'])

/**
 * Checks extra headers and makes their header lines (each ending in CRLF).
 * @throws TypeError naming the field at fault: a name that is not a token, a value with CR, LF or another
 *   control character, or a field the server manages (Content-Length, Content-Encoding, Connection, …)
 */
export function headerLines(where: string, headers: Record<string, string>): string {
  if (typeof headers !== 'object' || headers === null || Array.isArray(headers)) throw new TypeError(`Invalid option ${where}: expected an object of header names to values, got ${Array.isArray(headers) ? 'an array' : typeof headers}`)
  let lines = ''
  for (const [name, value] of Object.entries(headers)) {
    if (!FIELD_NAME.test(name)) throw new TypeError(`Invalid header name ${JSON.stringify(name)} in ${where}: expected a token (letters, digits and !#$%&'*+.^_\`|~-)`)
    if (MANAGED_FIELDS.has(name.toLowerCase())) throw new TypeError(`Invalid header ${name} in ${where}: the server sets it from the reply`)
    if (typeof value !== 'string' || !FIELD_VALUE.test(value)) throw new TypeError(`Invalid value of header ${name} in ${where}: expected visible characters, spaces and tabs (no CR, LF or other control characters), got ${JSON.stringify(value)}`)
    lines += `${name}: ${value}\r\n`
  }
  return lines
}

/**
 * Parses a command line's `Name: value`. @throws TypeError when there is no colon or the name is empty
 * @example
 * parseHeaderFlag('X-Frame-Options: DENY') // ['X-Frame-Options', 'DENY']
 */
export function parseHeaderFlag(text: string): [string, string] {
  const colon = text.indexOf(':')
  if (colon <= 0) throw new TypeError(`Invalid header ${JSON.stringify(text)}: expected "Name: value"`)
  return [text.slice(0, colon).trim(), text.slice(colon + 1).trim()]
}

/** CORS on every reply: `true` is any origin ("*"), a string one origin. @throws TypeError for anything else */
export function corsOrigin(cors: boolean | string | undefined): string | null {
  if (cors === undefined || cors === false) return null
  if (cors === true) return '*'
  if (typeof cors === 'string' && FIELD_VALUE.test(cors) && cors !== '') return cors
  throw new TypeError(`Invalid option static.cors: expected true, false or an origin such as "https://example.com", got ${JSON.stringify(cors)}`)
}

/** How long a browser may keep a preflight's answer: a day (Chromium caps it at 2 hours, Firefox at 24). */
const PREFLIGHT_MAX_AGE_S = 86_400

/**
 * The header lines of a CORS preflight's 204 (an OPTIONS with Access-Control-Request-Method): the methods a
 * file answers, and the request headers the browser asked about, echoed when they are a list of tokens.
 */
export function preflightLines(origin: string, requestHeaders: string | undefined): string {
  let lines = `Access-Control-Allow-Origin: ${origin}\r\nAccess-Control-Allow-Methods: GET, HEAD, OPTIONS\r\nAccess-Control-Max-Age: ${PREFLIGHT_MAX_AGE_S}\r\n`
  if (requestHeaders !== undefined && /^[!#$%&'*+.^_`|~0-9A-Za-z-]+(?:[ \t]*,[ \t]*[!#$%&'*+.^_`|~0-9A-Za-z-]+)*$/.test(requestHeaders.trim())) {
    lines += `Access-Control-Allow-Headers: ${requestHeaders.trim()}\r\n`
  }
  if (origin !== '*') lines += 'Vary: Origin\r\n'
  return lines
}

/** What `immutable: true` gives a file with a content hash in its name: a year, never revalidated. */
export const IMMUTABLE_CACHE_CONTROL = 'public, max-age=31536000, immutable'

/**
 * A name that carries a content hash, as bundlers emit: `index-BzXqL3aK.js` (Vite/Rollup, `[name]-[hash]`,
 * 8 base64url characters), `main.3f2a9c1b7d8e6f50.js` (webpack `[name].[contenthash]`, hex), with its source
 * map. The hash is the part just before the extension, after a "." or "-", 8 to 64 letters and digits, with
 * at least one digit and one letter, and either all lowercase hex or mixed case: so `app.js`,
 * `jquery-3.7.1.min.js`, `library2.js`, `chapter10.js` and `report-20240101.pdf` are not taken for hashed (a
 * word with a digit is not hex and not mixed case). This is conservative: a hash that happens to be
 * all letters, or to have a "-" or "_" in it, is missed, and the file keeps the ordinary cacheControl, which
 * costs a revalidation, never a stale file. HTML is never taken for hashed: a page's URL is its name.
 */
const HASHED_NAME = /[.-]((?=[A-Za-z0-9]*[0-9])(?=[A-Za-z0-9]*[A-Za-z])[A-Za-z0-9]{8,64})\.[A-Za-z0-9]+(?:\.map)?$/

/** True when the last segment of `path` carries a content hash (see HASHED_NAME). */
export function isHashedName(path: string): boolean {
  const name = path.slice(path.lastIndexOf('/') + 1)
  if (/\.html?$/i.test(name)) return false
  const match = HASHED_NAME.exec(name)
  if (match === null) return false
  const hash = match[1]!
  return /^[0-9a-f]+$/.test(hash) || (/[a-z]/.test(hash) && /[A-Z]/.test(hash))
}

/** One name in a directory listing. */
export interface ListingEntry {
  name: string
  directory: boolean
  /** Bytes of a file (null for a folder, or when it could not be read). */
  size: number | null
  /** Last modification, as an ISO date (null when it could not be read). */
  modified: string | null
}

/** Folders first, then by name (code points, as `ls` with LC_ALL=C). */
export function sortListing(entries: ListingEntry[]): ListingEntry[] {
  return entries.sort((a, b) => (a.directory !== b.directory ? (a.directory ? -1 : 1) : a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!)
}

/**
 * A listing as an HTML page, `path` being the request's (percent-encoded) path: every name escaped as text and percent-encoded as a link, so a file named
 * `<script>` or `a"b` shows as itself and cannot inject markup. `truncated`: more entries were not listed.
 */
export function listingHtml(path: string, entries: readonly ListingEntry[], truncated: boolean): string {
  const title = escapeHtml(safeDecode(path))
  // Links from the root, not relative: with trailingSlash false the folder's URL has no slash to be relative to.
  const folder = path.endsWith('/') ? path : `${path}/`
  const parent = folder.slice(0, folder.lastIndexOf('/', folder.length - 2) + 1)
  let rows = folder === '/' ? '' : `<li><a href="${escapeHtml(parent)}">../</a></li>\n`
  for (const entry of entries) {
    const shown = entry.directory ? `${entry.name}/` : entry.name
    const href = folder + encodeURIComponent(entry.name) + (entry.directory ? '/' : '')
    const detail = entry.directory || entry.size === null ? '' : ` <small>${entry.size} bytes</small>`
    rows += `<li><a href="${escapeHtml(href)}">${escapeHtml(shown)}</a>${detail}</li>\n`
  }
  const more = truncated ? `<p>Only the first ${entries.length} entries are listed.</p>\n` : ''
  return `<!doctype html>\n<meta charset="utf-8">\n<meta name="viewport" content="width=device-width">\n<title>Index of ${title}</title>\n<h1>Index of ${title}</h1>\n<ul>\n${rows}</ul>\n${more}`
}

/** A listing as JSON: `{ path, entries: [{ name, type: 'file' | 'directory', size, modified }], truncated }`. */
export function listingJson(path: string, entries: readonly ListingEntry[], truncated: boolean): string {
  return JSON.stringify({
    path: safeDecode(path),
    entries: entries.map((entry) => ({ name: entry.name, type: entry.directory ? 'directory' : 'file', size: entry.size, modified: entry.modified })),
    truncated,
  })
}

/** True when Accept prefers JSON to HTML (a fetch() with Accept: application/json), by order of mention. */
export function wantsJson(accept: string | undefined): boolean {
  if (accept === undefined) return false
  const json = accept.indexOf('application/json')
  if (json === -1) return false
  const html = accept.indexOf('text/html')
  return html === -1 || json < html
}

function safeDecode(path: string): string {
  try {
    return decodeURIComponent(path)
  } catch {
    return path
  }
}
