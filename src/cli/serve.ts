/*
 * `wirespeed serve [dir] [options]`: serves a folder (the bundled public/ by default), with the site
 * behaviour of `static` (spa, clean URLs, trailing slashes, a 404 page, listings, CORS, headers, cache
 * policy) as flags; `--help` lists them (HELP), and a test holds HELP, FLAGS and the README to each other.
 * On a terminal, a one-line live status is redrawn every second (requests/s, open connections, bytes/s), as
 * the old AppServer did; off a terminal it prints only the URL. SIGINT/SIGTERM close it gracefully.
 * Usage errors (a missing folder, a bad port, a port in use) print one line and exit with 2. With
 * --workers, every worker thread serves the folder and the status line sums them all.
 */
import { existsSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { serve } from '../serve/serve.ts'
import { requireNode } from '../runtime.ts'
import { REUSE_PORT_NODE } from '../tcp/listen.ts'
import { integerFlag, parseFlags, UsageError, withPortFlag, type FlagSpec } from './args.ts'
import { checkStaticOptions } from '../static/static-files.ts'
import { readSiteConfig } from '../static/config.ts'
import { staticLimitSpecs } from '../limits.ts'
import { IMMUTABLE_CACHE_CONTROL, parseHeaderFlag } from '../static/site.ts'
import type { StaticOptions } from '../static/types.ts'
import { formatBytes, formatCount } from './format.ts'
import { untilSignal } from './until-signal.ts'

const HELP = `Usage: wirespeed serve [dir] [options]

Serves a folder over HTTP (default: the bundled public/ page).
  --port N               port to listen on (default 5001; 0 picks a free one)
  --host H               address to listen on (default 127.0.0.1; 0.0.0.0 for every interface)
  --workers N|auto       event loops, one per worker thread, sharing the port (default 1; auto: one per core)
  --spa                  a single-page app: a page link with no file (/users/42) gets index.html
  --clean-urls           /about serves about.html, and /about.html redirects to /about
  --trailing-slash add|remove
                         add: /docs and (with --clean-urls) /about redirect to /docs/ and /about/;
                         remove: /docs/ redirects to /docs, and a folder serves its index.html there
  --not-found PATH       the page sent with 404s (default 404.html, when the folder has one)
  --browse               list a folder that has no index.html (HTML, or JSON for Accept: application/json)
  --cors                 Access-Control-Allow-Origin: * on every file, and answers to CORS preflights
  --cors-origin ORIGIN   the same, for one origin (https://app.example)
  --header 'Name: value' a header on every file (repeatable)
  --cache-control VALUE  Cache-Control of every file (default no-cache: revalidated, 304 when unchanged)
  --immutable            files whose names carry a content hash (index-BzXqL3aK.js, main.3f2a9c1b.css, as
                         Vite and webpack emit) get "public, max-age=31536000, immutable"
  --mime EXT=TYPE        Content-Type for an extension (repeatable): --mime glb=model/gltf-binary
  --no-compress          send files as they are (default: compressible files are compressed once, in memory,
                         with brotli, zstd and gzip, and served as Accept-Encoding prefers)
  --config PATH          a config file in serve's serve.json shape (default: the folder's serve.json, if any);
                         flags override it
  --print-config         print the options in force (config file and flags) as JSON, and exit
  --help                 this text
`

/** Every flag of `wirespeed serve`, for the parser, the help's test and the README's. */
export const FLAGS = {
  port: { type: 'string' },
  host: { type: 'string' },
  workers: { type: 'string' },
  spa: { type: 'boolean' },
  'clean-urls': { type: 'boolean' },
  'trailing-slash': { type: 'string' },
  'not-found': { type: 'string' },
  browse: { type: 'boolean' },
  cors: { type: 'boolean' },
  'cors-origin': { type: 'string' },
  header: { type: 'string', multiple: true },
  'cache-control': { type: 'string' },
  immutable: { type: 'boolean' },
  mime: { type: 'string', multiple: true },
  'no-compress': { type: 'boolean' },
  config: { type: 'string' },
  'print-config': { type: 'boolean' },
  help: { type: 'boolean' },
} as const satisfies FlagSpec

export { HELP }

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(args, FLAGS)
  if (values.help) {
    process.stdout.write(HELP)
    return 0
  }
  if (positionals.length > 1) throw new UsageError(`Expected one folder, got ${positionals.length}: ${positionals.join(' ')}`)
  const folder = positionals[0] === undefined ? fileURLToPath(new URL('../../public/', import.meta.url)) : resolve(positionals[0])
  if (!existsSync(folder)) throw new UsageError(`Folder ${folder} does not exist: pass a folder to serve`)
  if (!statSync(folder).isDirectory()) throw new UsageError(`${folder} is a file: pass a folder to serve (its files are served, index.html at /)`)
  const config = configFile(folder, values.config)
  const port = integerFlag('port', values.port, 5001, 0, 65535)
  const workers = values.workers === undefined || values.workers === 'auto' ? values.workers : integerFlag('workers', values.workers, 1, 1, 1024)
  if (workers !== undefined) requireNode('--workers', REUSE_PORT_NODE)
  const host = values.host ?? '127.0.0.1'
  const site = siteOptions(config, values)
  const root = site.root
  if (!existsSync(root) || !statSync(root).isDirectory()) throw new UsageError(`Folder ${root} (public in ${config.file}) does not exist: it is the folder to serve`)
  if (values['print-config']) {
    process.stdout.write(`${JSON.stringify({ host, port, workers: workers ?? 1, config: config.file ?? null, static: inForce(site) }, null, 2)}\n`)
    return 0
  }
  const server = await serve({ host, port, static: site, workers }).catch(withPortFlag(host, port))
  // The signals are caught before the line is printed: whoever waits for the line may stop us at once.
  const stopped = untilSignal()
  process.stdout.write(`wirespeed serving ${root} at ${server.url}/ (${server.backend} backend: ${server.backendReason})\n`)

  const live = process.stdout.isTTY ? startStatusLine(server) : undefined
  await stopped
  if (live) clearInterval(live)
  if (process.stdout.isTTY) process.stdout.write('\n')
  await server.close()
  return 0
}

/** The folder's config file (--config, else its serve.json when there is one), read and checked. */
function configFile(folder: string, given: string | undefined): { file: string | undefined; options: StaticOptions } {
  const file = given === undefined ? join(folder, 'serve.json') : resolve(given)
  if (given === undefined && !existsSync(file)) return { file: undefined, options: { root: folder } }
  if (!existsSync(file)) throw new UsageError(`Config file ${file} does not exist (--config)`)
  try {
    return { file, options: readSiteConfig(file) }
  } catch (error) {
    if (error instanceof TypeError) throw new UsageError(error.message)
    throw error
  }
}

/** Every static option with its value in force: the ones set, and the defaults of the ones not. */
function inForce(options: StaticOptions): Record<string, unknown> {
  const defaults = {
    spa: false, cleanUrls: false, trailingSlash: null, notFound: '404.html', directoryListing: false, cors: false, cacheControl: 'no-cache',
    compress: true, dotfiles: false, rewrites: [], redirects: [], headers: {}, unlisted: [], mimeTypes: {},
    fileBytesMax: staticLimitSpecs.fileBytesMax.value, cacheBytesMax: staticLimitSpecs.cacheBytesMax.value, compressBytesMin: staticLimitSpecs.compressBytesMin.value,
    compressStreamsMax: staticLimitSpecs.compressStreamsMax.value, listingEntriesMax: staticLimitSpecs.listingEntriesMax.value,
  }
  const { root, ...set } = options
  const shown: Record<string, unknown> = { root, ...defaults, ...set }
  shown.hashedCacheControl = options.hashedCacheControl ?? shown.cacheControl
  return shown
}

/**
 * The static options of the config file with the flags given over them, checked (a bad header or value
 * is a usage error naming its flag).
 */
function siteOptions(config: { options: StaticOptions }, values: { [name: string]: string | boolean | string[] | undefined }): StaticOptions {
  const options: StaticOptions = { ...config.options }
  if (values.spa === true) options.spa = true
  if (values['clean-urls'] === true) options.cleanUrls = true
  if (values['no-compress'] === true) options.compress = false
  const slash = values['trailing-slash']
  if (slash !== undefined) {
    if (slash !== 'add' && slash !== 'remove') throw new UsageError(`Invalid --trailing-slash ${JSON.stringify(slash)}: expected add or remove`)
    options.trailingSlash = slash === 'add'
  }
  if (typeof values['not-found'] === 'string') options.notFound = values['not-found']
  if (values.browse === true) options.directoryListing = true
  if (values.cors === true) options.cors = true
  if (typeof values['cors-origin'] === 'string') options.cors = values['cors-origin']
  const headers = values.header
  if (Array.isArray(headers)) {
    // Flags' headers go on every file, after the config file's (by glob or not).
    const fields = headers.map((text) => flagValue('header', () => parseHeaderFlag(text)))
    const configured = options.headers
    if (Array.isArray(configured)) options.headers = [...configured, { source: '/**', headers: fields.map(([key, value]) => ({ key, value })) }]
    else options.headers = { ...configured, ...Object.fromEntries(fields) }
  }
  const mime = values.mime
  if (Array.isArray(mime)) {
    options.mimeTypes = { ...options.mimeTypes }
    for (const text of mime) {
      const equals = text.indexOf('=')
      if (equals <= 0) throw new UsageError(`Invalid --mime ${JSON.stringify(text)}: expected EXT=TYPE, as in --mime glb=model/gltf-binary`)
      options.mimeTypes[text.slice(0, equals).replace(/^\./, '')] = text.slice(equals + 1)
    }
  }
  if (typeof values['cache-control'] === 'string') options.cacheControl = values['cache-control']
  if (values.immutable === true) options.hashedCacheControl = IMMUTABLE_CACHE_CONTROL
  try {
    checkStaticOptions(options)
  } catch (error) {
    if (!(error instanceof TypeError)) throw error
    // The option's message, with the flag that set it for the option's name.
    throw new UsageError(error.message.replace(/(?:option )?static\.(\w+)/, (_, name: string) => OPTION_FLAGS[name] ?? `static.${name}`))
  }
  return options
}

/** The flag that sets each static option the flags can make invalid. */
const OPTION_FLAGS: Record<string, string> = { cors: '--cors-origin', headers: '--header', cacheControl: '--cache-control', notFound: '--not-found', mimeTypes: '--mime' }

/** Runs `check`, turning its TypeError into a usage error that names the flag. */
function flagValue<T>(flag: string, check: () => T): T {
  try {
    return check()
  } catch (error) {
    if (error instanceof TypeError) throw new UsageError(`Invalid --${flag}: ${error.message}`)
    throw error
  }
}

function startStatusLine(server: { stats(): { requests: number; bytesOut: number; connections: number } }): NodeJS.Timeout {
  let last = server.stats()
  let lastAt = performance.now()
  return setInterval(() => {
    const now = server.stats()
    const at = performance.now()
    const seconds = (at - lastAt) / 1000
    const line = `${formatCount((now.requests - last.requests) / seconds)} req/s  ${formatCount(now.connections)} connections  ${formatBytes((now.bytesOut - last.bytesOut) / seconds)}/s  ${formatCount(now.requests)} requests in all`
    process.stdout.write(`\r\x1b[2K${line}`)
    last = now
    lastAt = at
  }, 1000)
}
