/*
 * OPTIONS for a composed server (RFC 9110 §9.3.7): what it can tell of the methods it serves.
 *
 * `OPTIONS *` (asterisk-form, RFC 9112 §3.2.4) asks about the server, not a resource: it is answered here,
 * 204 with `Allow` listing every method something in the server answers (all of them when a handler or a
 * fetch handler is there, since each method reaches it; else the routes' and the static files'). It never
 * reaches a handler, which would otherwise get a path that is no path ("*", and a fetch handler a URL that
 * does not parse).
 *
 * OPTIONS on a path goes on to whatever serves the path, so an app's own OPTIONS answer (a CORS preflight
 * in a Hono app) is its own. The server only fills in what the app leaves out: a successful reply without
 * `Allow` gets the methods that reach that path's handler (Response.allowByDefault: a route's path knows
 * its methods, a handler is given every method). A CORS preflight (OPTIONS with
 * Access-Control-Request-Method) gets nothing added: its answer is the app's CORS fields, which is what the
 * browser reads.
 */
import type { Request } from '../http/request.ts'
import type { Response } from '../http/response.ts'
import type { Handler } from '../http/types.ts'
import { ROUTE_METHODS } from './router.ts'

/** Every method the server passes to a handler, as Allow lists them. */
export const ALL_METHODS = ROUTE_METHODS.join(', ')

/** The methods static files answer. */
const FILE_METHODS = ['GET', 'HEAD', 'OPTIONS']

/**
 * Answers `OPTIONS *` in front of `next`, and gives an OPTIONS request that reaches a handler `Allow` with
 * every method unless its reply names its own.
 * @param routeMethods the methods the route table serves (see routeMethods()), [] without one
 * @param files true when static files are served
 * @param handler true when a handler or fetch handler answers what the rest does not
 * @internal
 */
export function optionsFirst(next: Handler, routeMethods: readonly string[], files: boolean, handler: boolean): Handler {
  const methods = new Set<string>(['OPTIONS', ...routeMethods, ...(files ? FILE_METHODS : []), ...(handler ? ROUTE_METHODS : [])])
  const serverAllow = ROUTE_METHODS.filter((method) => methods.has(method)).join(', ')
  return (request, response) => {
    if (request.method === 'OPTIONS') {
      if (request.url === '*') {
        response.setHeader('Allow', serverAllow)
        return response.status(204).send()
      }
      // Routes and static files answer with their own Allow; a handler that answers 2xx is given the default.
      if (handler) allowByDefault(request, response, ALL_METHODS)
    }
    return next(request, response)
  }
}

/** Gives an OPTIONS reply `Allow: methods` unless it sets one, or is no success, or is a CORS preflight's. @internal */
export function allowByDefault(request: Request, response: Response, methods: string): void {
  if (request.header('access-control-request-method') === undefined) response.allowByDefault(methods)
}
