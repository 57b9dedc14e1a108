/*
 * `serve()`: the facade that chooses how to serve. With `workers` (more than one, where reusePort exists),
 * one event loop per worker thread (src/thread/serve-workers.ts); otherwise one event loop here
 * (./one-loop.ts). Neither implementation knows of the other.
 */
import { reusePortAvailable, serveWorkers, workerCount } from '../thread/serve-workers.ts'
import { limitSpecs } from '../limits.ts'
import { loadHandler, serveOneLoop } from './one-loop.ts'
import type { OneLoopServeOptions, ServeOptions, Server, WorkersServeOptions } from './types.ts'

/** Every option `serve()` reads; `satisfies` keeps the list equal to the two option interfaces. */
const optionNames = {
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
 * Starts an HTTP/1.1 server.
 * @example
 * const server = await serve({ port: 5001, handler: (request, response) => response.send('Hello, World!') })
 * await server.close()
 */
export async function serve<R>(options: ServeOptions<R>): Promise<Server> {
  checkOptionNames(options)
  if (options.workers === undefined) return serveOneLoop(options)
  const log = options.log ?? ((line: string) => console.log(line))
  const count = workerCount(options.workers)
  // The types refuse a handler with workers; JavaScript callers are told at run time.
  if ((options as { handler?: unknown }).handler !== undefined && options.handlerModule === undefined) {
    throw new TypeError('Invalid option handler with workers: a function cannot cross threads; give handlerModule, a module whose default export is the handler')
  }
  const handlerModule = options.handlerModule === undefined ? undefined : handlerHref(options.handlerModule)
  if (count > 1 && reusePortAvailable()) return serveWorkers(options, count, log, handlerModule)
  log(count === 1 ? 'wirespeed: serving on one event loop' : `wirespeed: reusePort is unavailable on ${process.platform}: serving on one event loop`)
  const app = handlerModule === undefined ? {} : await loadHandler(handlerModule)
  const { workers: _workers, handlerModule: _handlerModule, ...rest } = options
  return serveOneLoop({ ...rest, ...app })
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
