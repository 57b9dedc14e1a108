/*
 * `serve()`: the facade that chooses how to serve. With `workers` (more than one, where reusePort exists),
 * one event loop per worker thread (src/thread/serve-workers.ts); otherwise one event loop here
 * (./one-loop.ts). Neither implementation knows of the other.
 */
import { reusePortAvailable, serveWorkers, workerCount } from '../thread/serve-workers.ts'
import { loadHandler, serveOneLoop } from './one-loop.ts'
import type { ServeOptions, Server } from './types.ts'

/**
 * Starts an HTTP/1.1 server.
 * @example
 * const server = await serve({ port: 5001, handler: (request, response) => response.send('Hello, World!') })
 * await server.close()
 */
export async function serve<R>(options: ServeOptions<R>): Promise<Server> {
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

/** A module URL or path (relative to the working folder) as an href. */
function handlerHref(handlerModule: URL | string): string {
  return new URL(handlerModule, `file://${process.cwd()}/`).href
}
