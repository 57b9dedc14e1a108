/*
 * A server on this event loop: static files (when asked) in front of the handler, on `listenHttp()`. The
 * `serve()` facade uses it for one loop, and each serving worker thread uses it for its own.
 */
import type { Handler } from '../http/types.ts'
import { listenHttp } from '../http/server.ts'
import { StaticFiles } from '../static/static-files.ts'
import type { StaticOptions } from '../static/types.ts'
import type { OneLoopServeOptions, Server } from './types.ts'

/** Serves `options` on this event loop. */
export async function serveOneLoop(options: OneLoopServeOptions): Promise<Server> {
  if (options.handler !== undefined && typeof options.handler !== 'function') throw new TypeError('Invalid option handler: expected a function')
  const files = await openStatic(options.static)
  const handler = files === undefined ? options.handler : staticFirst(files, options.handler)
  if (handler === undefined) throw new TypeError('Missing option handler (or static): expected a function that answers requests')
  let server
  try {
    server = await listenHttp({ host: options.host, port: options.port, reusePort: options.reusePort, backend: options.backend, handler, limits: options.limits, onError: options.onError })
  } catch (error) {
    files?.close()
    throw error
  }
  const http = server
  return {
    host: http.host,
    port: http.port,
    url: http.url,
    limits: http.limits,
    backend: http.backend,
    backendReason: http.backendReason,
    get connections() {
      return http.connections
    },
    stats: () => http.stats(),
    workers: 1,
    restarts: 0,
    async close() {
      await http.close()
      files?.close()
    },
  }
}

/** The default export of `handlerModule`, checked to be a function. */
export async function loadHandler(handlerModule: string): Promise<Handler> {
  const handler = ((await import(handlerModule)) as { default?: unknown }).default
  if (typeof handler !== 'function') throw new TypeError(`${handlerModule} has no default export function to handle requests`)
  return handler as Handler
}

async function openStatic(given: string | StaticOptions | StaticFiles | undefined): Promise<StaticFiles | undefined> {
  if (given === undefined) return undefined
  const files = given instanceof StaticFiles ? given : new StaticFiles(typeof given === 'string' ? { root: given } : given)
  try {
    await files.ready()
  } catch (error) {
    files.close()
    throw error
  }
  return files
}

/** Files first; what the folder does not have (and methods other than GET and HEAD) goes to `fallback`. */
function staticFirst(files: StaticFiles, fallback: Handler | undefined): Handler {
  return (request, response) => files.handle(request, response, fallback)
}
