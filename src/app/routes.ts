/*
 * routeHandler(): a route table (Bun.serve's shape) as one wirespeed Handler in front of a fallback.
 *
 * The table is compiled once, at start, into a Router (./router.ts): every key is checked (a bad key or two
 * routes for one method and path throw a RouteError naming them), fixed Responses are read into prepared
 * replies, and per-method objects are spread into "METHOD /path" routes. Per request: one lookup on the
 * path as sent; the match's parameters become `request.params`. A path served under other methods only is
 * 405 with `Allow` (RFC 9110 §15.5.6); OPTIONS on it, without an OPTIONS route, is 204 with `Allow`
 * (§9.3.7), and a route that answers OPTIONS itself (its own, or one for every method) has the path's
 * `Allow` added to a successful reply that sets none (./options.ts); HEAD is served by the GET route,
 * without the body (§9.3.2). No match goes to the fallback.
 */
import { RouteError } from '../errors.ts'
import type { Request } from '../http/request.ts'
import type { Response } from '../http/response.ts'
import type { Handler } from '../http/types.ts'
import { allowByDefault } from './options.ts'
import { ROUTE_METHODS, Router } from './router.ts'
import type { RouteHandler, RouteValue } from './types.ts'
import { isWebResponse, prepareWebResponse, sendPrepared, writeWebResponse } from './web-response.ts'

const METHODS = new Set<string>(ROUTE_METHODS)

/**
 * Compiles `routes` into one Handler; what no route matches goes to `fallback`.
 * @internal
 */
export async function routeHandler(routes: Record<string, RouteValue>, fallback: Handler): Promise<Handler> {
  if (typeof routes !== 'object' || routes === null || Array.isArray(routes)) throw new TypeError('Invalid option routes: expected an object of "METHOD /path" keys')
  const router = new Router<Handler>()
  for (const [key, value] of Object.entries(routes)) {
    if (isWebResponse(value) || typeof value === 'function') {
      router.add(key, await routeOf(key, value))
      continue
    }
    if (typeof value !== 'object' || value === null) throw badValue(key, value)
    if (key[0] !== '/') throw new RouteError('BAD_ROUTE', `Invalid route ${JSON.stringify(key)}: an object of methods goes under a key without a method ("/path")`)
    for (const [method, each] of Object.entries(value)) {
      if (!METHODS.has(method)) throw new RouteError('BAD_ROUTE', `Invalid route ${JSON.stringify(key)}: ${JSON.stringify(method)} is not one of ${ROUTE_METHODS.join(', ')}`)
      router.add(`${method} ${key}`, await routeOf(`${method} ${key}`, each))
    }
  }
  return (request, response) => {
    const match = router.find(request.method, request.path)
    if (match === null) return fallback(request, response)
    const route = match.value
    if (route === null) {
      response.setHeader('Allow', match.allow)
      if (request.method === 'OPTIONS') return response.status(204).send()
      return response.status(405).send(`Method Not Allowed: ${request.method} ${request.path} allows ${match.allow}\n`)
    }
    request.params = match.params
    if (request.method === 'OPTIONS') allowByDefault(request, response, match.allow)
    return route(request, response)
  }
}

/**
 * The methods a route table (checked by routeHandler() already) serves on some path: every method when a
 * route takes them all ("/path" with a function or a Response), HEAD with GET.
 * @internal
 */
export function routeMethods(routes: Record<string, RouteValue>): string[] {
  const methods = new Set<string>()
  for (const [key, value] of Object.entries(routes)) {
    if (key[0] !== '/') methods.add(key.slice(0, key.indexOf(' ')))
    else if (isWebResponse(value) || typeof value === 'function') for (const method of ROUTE_METHODS) methods.add(method)
    else for (const method of Object.keys(value as object)) methods.add(method)
  }
  if (methods.has('GET')) methods.add('HEAD')
  return [...methods]
}

async function routeOf(key: string, value: unknown): Promise<Handler> {
  if (isWebResponse(value)) {
    const reply = await prepareWebResponse(value)
    return (_request, response) => sendPrepared(reply, response)
  }
  if (typeof value !== 'function') throw badValue(key, value)
  return nativeRoute(value as RouteHandler)
}

/** A route handler that may return a web Response, or what `response.upgrade()` returned, as a Handler. */
function nativeRoute(route: RouteHandler): Handler {
  return (request: Request, response: Response) => {
    const result = route(request, response)
    if (result instanceof Promise) return result.then((value) => finishRoute(value, response))
    return finishRoute(result, response)
  }
}

/**
 * What a route returned: nothing (it answered), a web Response to send, or the boolean of
 * `response.upgrade()`, as `(request, response) => response.upgrade()` returns it: true, the socket is a
 * WebSocket now; false, the request was no upgrade, and unless the upgrade already refused it, it gets 426
 * with the Upgrade field that status requires (RFC 9110 §15.5.22).
 */
function finishRoute(result: void | boolean | globalThis.Response, response: Response): void | Promise<void> {
  if (result === undefined || result === true) return
  if (result === false) {
    if (!response.headersSent) response.status(426).setHeader('Upgrade', 'websocket').setHeader('Connection', 'Upgrade').send('Upgrade required: this route speaks WebSocket\n')
    return
  }
  return writeWebResponse(result, response)
}

function badValue(key: string, value: unknown): RouteError {
  return new RouteError('BAD_ROUTE', `Invalid route ${JSON.stringify(key)}: expected a function (request, response), a Response or an object of methods, got ${value === null ? 'null' : typeof value}`)
}
