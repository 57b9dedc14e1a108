/*
 * `serve()`: the facade that chooses how to serve. With `workers` (more than one, where reusePort exists),
 * one event loop per worker thread (./serve-workers.ts); otherwise one event loop here
 * (./one-loop.ts). Neither implementation knows of the other.
 */
import { reusePortAvailable, serveWorkers, workerCount } from './serve-workers.ts'
import { limitSpecs } from '../limits.ts'
import { checkStaticOptions, StaticFiles } from '../static/static-files.ts'
import { loadHandler, serveOneLoop } from './one-loop.ts'
import type { OneLoopServeOptions, ServeOptions, Server, WorkersServeOptions } from './types.ts'

/** Every option `serve()` reads; `satisfies` keeps the list equal to the two option interfaces. @internal */
export const optionNames = {
  host: true, port: true, limits: true, onError: true, log: true, backend: true, workers: true, routes: true, handler: true,
  fetch: true, lightResponse: true, static: true, websocket: true, reusePort: true, handlerModule: true,
} as const satisfies Record<keyof OneLoopServeOptions | keyof WorkersServeOptions, true>

/** What users of other servers pass, and what to pass here instead. */
const optionHints: Record<string, string> = {
  hostname: 'pass host (the address to listen on)',
  idleTimeout: 'pass limits: { idleTimeoutMs } (milliseconds)',
  maxRequestBodySize: 'pass limits: { bodyBytesMax }',
  error: 'pass onError',
  tls: 'wirespeed serves plain HTTP; terminate TLS in front of it (nginx, Caddy)',
  key: 'wirespeed serves plain HTTP; terminate TLS in front of it (nginx, Caddy)',
  cert: 'wirespeed serves plain HTTP; terminate TLS in front of it (nginx, Caddy)',
  unix: 'wirespeed listens on TCP only; pass host and port',
  overrideGlobalObjects: 'pass lightResponse',
}

/**
 * The options that carry the app: functions (and a route table of functions and Responses), which cannot
 * cross to a worker thread, so that with `workers` they come from `handlerModule`; for each, what to write
 * there instead.
 */
const appOptions = {
  handler: { what: 'a function', exported: 'export it from handlerModule (export default handler)' },
  fetch: { what: 'a function', exported: 'export it from handlerModule (export default { fetch })' },
  routes: { what: 'a route table (functions and Responses)', exported: 'export it from handlerModule (export default { routes })' },
  websocket: { what: 'a handlers object (functions)', exported: 'export it from handlerModule (export default { fetch, websocket })' },
  onError: { what: 'a function', exported: 'export it from handlerModule (export default { fetch, onError }, or export function onError)' },
} as const

/**
 * Starts an HTTP/1.1 server.
 * @example
 * const server = await serve({ port: 5001, handler: (request, response) => response.send('Hello, World!') })
 * // The server runs until it is closed (on SIGINT, say): process.once('SIGINT', () => server.close())
 */
export async function serve<R>(options: ServeOptions<R>): Promise<Server> {
  checkOptionNames(options)
  if (options.workers === undefined) return serveHere(options)
  checkWorkersOptions(options)
  const log = options.log ?? ((line: string) => console.log(line))
  const count = workerCount(options.workers)
  const handlerModule = options.handlerModule === undefined ? undefined : handlerHref(options.handlerModule)
  if (count > 1 && reusePortAvailable()) return serveWorkers(options, count, log, handlerModule)
  log(count === 1 ? 'wirespeed: serving on one event loop' : `wirespeed: reusePort is unavailable on ${process.platform}: serving on one event loop`)
  const { workers: _workers, ...rest } = options
  return serveHere(rest)
}

/** Serves on this event loop, with the app `handlerModule` exports when it is given. */
async function serveHere<R>(options: OneLoopServeOptions<R>): Promise<Server> {
  if (options.handlerModule === undefined) return serveOneLoop(options)
  for (const name of Object.keys(appOptions) as (keyof typeof appOptions)[]) {
    if (options[name] !== undefined) throw new TypeError(`Invalid options handlerModule and ${name}: give the app in one place (the module may export ${name})`)
  }
  const { handlerModule, ...rest } = options
  return serveOneLoop({ ...rest, ...(await loadHandler(handlerHref(handlerModule))) } as OneLoopServeOptions<R>)
}

/**
 * Throws a TypeError for an option that cannot mean with `workers` what it means on one loop, saying why
 * and what to give instead (the types refuse most of them; JavaScript callers are told at run time).
 */
function checkWorkersOptions(options: ServeOptions<unknown>): void {
  for (const [name, { what, exported }] of Object.entries(appOptions)) {
    if ((options as Record<string, unknown>)[name] !== undefined) throw new TypeError(`Invalid option ${name} with workers: ${what} cannot cross to a worker thread; ${exported}`)
  }
  if ((options as { reusePort?: unknown }).reusePort === false) throw new TypeError('Invalid option reusePort: false with workers: every worker listens with reusePort, to share the port')
  if (options.static instanceof StaticFiles) {
    throw new TypeError('Invalid option static with workers: a StaticFiles instance cannot cross to a worker thread; give the folder or its options ({ root, cacheControl, … })')
  }
  if (options.static !== undefined) checkStaticOptions(typeof options.static === 'string' ? { root: options.static } : options.static)
  if (options.handlerModule === undefined && options.static === undefined) {
    throw new TypeError('Missing option handlerModule with workers: expected a module whose default export answers requests (or static)')
  }
}

/**
 * Throws a TypeError naming the first option `serve()` does not read (a misspelt or misplaced option would
 * otherwise be ignored: a timeout at the top level instead of in `limits` does nothing).
 */
function checkOptionNames(options: object): void {
  if (typeof options !== 'object' || options === null) throw new TypeError(`Invalid options: expected an object, got ${options === null ? 'null' : typeof options}`)
  for (const [name, value] of Object.entries(options)) {
    if (value === undefined || Object.hasOwn(optionNames, name)) continue
    const hint = Object.hasOwn(limitSpecs, name) ? `${name} is a limit: pass limits: { ${name}: ${String(value)} }`
      : Object.hasOwn(optionHints, name) ? optionHints[name] : `expected one of ${Object.keys(optionNames).join(', ')}`
    throw new TypeError(`Unknown option ${name}: ${hint}`)
  }
}

/** A module URL or path (relative to the working folder) as an href. */
function handlerHref(handlerModule: URL | string): string {
  return new URL(handlerModule, `file://${process.cwd()}/`).href
}
