/*
 * Router: route patterns → values, built once at start, looked up per request.
 *
 * Patterns are paths whose segments are literal, a parameter (`:name`, the whole segment) or, last, a
 * wildcard (`*`, the rest of the path). Lookup order, whatever the order of definition:
 *   1. an exact path (one Map lookup: no walk, no allocation),
 *   2. the tree, where at every node a literal child is tried before the parameter child, and the
 *      parameter child before the wildcard; a branch that does not lead to a route serving the method is
 *      left for the next (backtracking), so `GET /users/me` and `POST /users/:id` both answer.
 * A path matched by routes of other methods only is "not allowed" (405 with `Allow`).
 *
 * The tree is a radix tree over the literal parts, with the parameter and the wildcard as special children:
 *
 *   '/users/:id/repos', '/users/:id', '/user', '/assets/*'
 *
 *   "/" ── "user" ─┬─ (route /user)
 *                  └─ "s/" ── :param ─┬─ (route /users/:id)
 *                                     └─ "/repos" (route /users/:id/repos)
 *       └─ "assets/" ── * (route /assets/*)
 *
 * Parameter names belong to the route, not the node (`/a/:id` and `/a/:name/b` share the parameter node):
 * a lookup collects values in order and the route names them. Values are percent-decoded (UTF-8) only when
 * they hold a `%`; a malformed escape or invalid UTF-8 is an HttpError 400, never a thrown URIError.
 *
 * Worst case: a lookup visits each node at most once per branch taken; backtracking is bounded by the
 * pattern set, not by the request (a path of n segments visits at most n levels).
 */
import { HttpError, RouteError } from '../errors.ts'

/** The methods a route may name (the ones the HTTP parser admits). */
export const ROUTE_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'TRACE'] as const
export type RouteMethod = (typeof ROUTE_METHODS)[number]

/** What a lookup found: the value serving the method (null when none does: 405) and the parameters. */
export interface RouteMatch<T> {
  readonly value: T | null
  readonly params: Record<string, string>
  /** The methods the matched path serves, for `Allow` ("GET, HEAD, OPTIONS"). */
  readonly allow: string
  /** The pattern that matched, as it was given ("GET /users/:id"). */
  readonly key: string
}

const NO_PARAMS: Record<string, string> = Object.freeze({}) as Record<string, string>
const PARAM_NAME = /^[A-Za-z_$][A-Za-z0-9_$]*$/
const METHOD_SET = new Set<string>(ROUTE_METHODS)

/** The routes of one path pattern: a value per method, and one for every method. */
class Endpoint<T> {
  readonly pattern: string
  readonly names: string[]
  readonly byMethod = new Map<string, { value: T; key: string; match: RouteMatch<T> }>()
  any: { value: T; key: string; match: RouteMatch<T> } | null = null
  allow = ''
  notAllowed: RouteMatch<T> = { value: null, params: NO_PARAMS, allow: '', key: '' }
  /** Names the lookup's values: an object literal with this pattern's names, so every lookup of it makes the same shape. */
  readonly params: (values: string[]) => Record<string, string>

  constructor(pattern: string, names: string[]) {
    this.pattern = pattern
    this.names = names
    this.params = paramsMaker(names)
  }

  add(method: string | null, value: T, key: string): void {
    const existing = method === null ? this.any : this.byMethod.get(method)
    if (existing) throw new RouteError('ROUTE_CONFLICT', `Route ${JSON.stringify(key)} repeats route ${JSON.stringify(existing.key)}: the same method and path`)
    const entry = { value, key, match: { value, params: NO_PARAMS, allow: '', key } }
    if (method === null) this.any = entry
    else this.byMethod.set(method, entry)
    this.#refreshAllow()
  }

  /** The entry serving `method`: its own, GET's for HEAD, else the route for every method. */
  serving(method: string): { value: T; key: string; match: RouteMatch<T> } | null {
    return this.byMethod.get(method) ?? (method === 'HEAD' ? this.byMethod.get('GET') : undefined) ?? this.any
  }

  #refreshAllow(): void {
    const methods = this.any !== null ? [...ROUTE_METHODS] : [...this.byMethod.keys()]
    if (methods.includes('GET') && !methods.includes('HEAD')) methods.push('HEAD')
    if (!methods.includes('OPTIONS')) methods.push('OPTIONS')
    this.allow = ROUTE_METHODS.filter((method) => methods.includes(method)).join(', ')
    for (const entry of [...this.byMethod.values(), this.any]) if (entry) entry.match = { value: entry.value, params: NO_PARAMS, allow: this.allow, key: entry.key }
    this.notAllowed = { value: null, params: NO_PARAMS, allow: this.allow, key: this.pattern }
  }
}

class Node<T> {
  prefix: string
  /** First char code of each literal child, and the children, in the same order. */
  codes: number[] = []
  children: Node<T>[] = []
  param: Node<T> | null = null
  wildcard: Endpoint<T> | null = null
  endpoint: Endpoint<T> | null = null

  constructor(prefix: string) {
    this.prefix = prefix
  }
}

/** A pattern cut into literal text, parameters (PARAM) and a final wildcard (WILDCARD). */
const PARAM = 0
const WILDCARD = 1
type Token = string | typeof PARAM | typeof WILDCARD

/**
 * Routes from patterns to values.
 * @example
 * const router = new Router<string>()
 * router.add('GET /users/:id', 'user')
 * router.find('GET', '/users/7') // { value: 'user', params: { id: '7' }, allow: 'GET, HEAD, OPTIONS', key: 'GET /users/:id' }
 */
export class Router<T> {
  readonly #root = new Node<T>('')
  readonly #exact = new Map<string, Endpoint<T>>()
  readonly #patterns = new Map<string, Endpoint<T>>()
  /**
   * Scratch for parameter values during a lookup (lookups are synchronous): the value of the i-th parameter
   * on the current branch is at index i; a route with n parameters reads the first n. Never shrunk (setting
   * an array's length costs more than a whole lookup).
   */
  readonly #values: string[] = []
  /** The first endpoint (by precedence) a lookup matched without serving the method: the 405. */
  #unserved: Endpoint<T> | null = null

  /**
   * Adds a route: `"METHOD /path"` or `"/path"` (every method). Throws a RouteError for a bad key or a
   * pattern that repeats another's method and path (parameter names aside).
   */
  add(key: string, value: T): void {
    const { method, path } = splitKey(key)
    const { tokens, names, pattern } = parsePattern(path, key)
    let endpoint = this.#patterns.get(pattern)
    if (endpoint === undefined) {
      endpoint = new Endpoint<T>(pattern, names)
      this.#patterns.set(pattern, endpoint)
      if (tokens.length === 1 && typeof tokens[0] === 'string') this.#exact.set(tokens[0], endpoint)
      this.#insert(tokens, endpoint)
    } else if (endpoint.names.join('/') !== names.join('/')) {
      const clash = method === null ? endpoint.any : endpoint.byMethod.get(method)
      const other = clash?.key ?? endpoint.any?.key ?? [...endpoint.byMethod.values()][0]!.key
      if (clash) throw new RouteError('ROUTE_CONFLICT', `Route ${JSON.stringify(key)} repeats route ${JSON.stringify(other)}: the same method and path`)
      throw new RouteError('BAD_ROUTE', `Route ${JSON.stringify(key)} names its parameters unlike route ${JSON.stringify(other)} on the same path: use the same names`)
    }
    endpoint.add(method, value, key)
  }

  /**
   * The route for `method` and `path` (the path as sent, without the query), or null when no route's path
   * matches. `value` is null when the path matches under other methods only.
   * @throws HttpError 400 for a parameter with a malformed percent-escape
   */
  find(method: string, path: string): RouteMatch<T> | null {
    const exact = this.#exact.get(path)
    if (exact !== undefined) {
      const entry = exact.serving(method)
      if (entry !== null) return entry.match
    }
    this.#unserved = exact ?? null
    const values = this.#values
    const found = this.#walk(this.#root, path, 0, method, 0)
    if (found !== null) {
      const entry = found.serving(method)!
      if (found.names.length === 0) return entry.match
      return { value: entry.value, params: found.params(values), allow: found.allow, key: entry.key }
    }
    const unserved = this.#unserved
    this.#unserved = null
    return unserved === null ? null : unserved.notAllowed
  }

  /** Every pattern added, as given. */
  keys(): string[] {
    const keys: string[] = []
    for (const endpoint of this.#patterns.values()) {
      for (const entry of endpoint.byMethod.values()) keys.push(entry.key)
      if (endpoint.any) keys.push(endpoint.any.key)
    }
    return keys
  }

  /** Depth-first in precedence order: literal child, parameter, wildcard. */
  #walk(node: Node<T>, path: string, position: number, method: string, depth: number): Endpoint<T> | null {
    if (position === path.length) {
      const endpoint = node.endpoint
      if (endpoint !== null) {
        if (endpoint.serving(method) !== null) return endpoint
        this.#unserved ??= endpoint
      }
    } else {
      const code = path.charCodeAt(position)
      const child = literalChild(node, code)
      if (child !== null && hasAt(path, child.prefix, position)) {
        const found = this.#walk(child, path, position + child.prefix.length, method, depth)
        if (found !== null) return found
      }
      const param = node.param
      if (param !== null && code !== 0x2f) {
        let end = path.indexOf('/', position)
        if (end < 0) end = path.length
        this.#values[depth] = path.slice(position, end)
        const found = this.#walk(param, path, end, method, depth + 1)
        if (found !== null) return found
      }
    }
    const wildcard = node.wildcard
    if (wildcard !== null) {
      if (wildcard.serving(method) !== null) {
        this.#values[depth] = path.slice(position)
        return wildcard
      }
      this.#unserved ??= wildcard
    }
    return null
  }

  #insert(tokens: Token[], endpoint: Endpoint<T>): void {
    let node = this.#root
    for (const token of tokens) {
      if (token === PARAM) node = node.param ??= new Node<T>('')
      else if (token === WILDCARD) {
        node.wildcard = endpoint
        return
      } else node = insertLiteral(node, token)
    }
    node.endpoint = endpoint
  }
}

/** The literal child whose prefix starts with `code`, or null. */
function literalChild<T>(node: Node<T>, code: number): Node<T> | null {
  const codes = node.codes
  for (let index = 0; index < codes.length; index++) if (codes[index] === code) return node.children[index]!
  return null
}

/** Walks and splits literal children so that `text` ends at a node; returns that node. */
function insertLiteral<T>(node: Node<T>, text: string): Node<T> {
  while (text.length > 0) {
    const index = node.codes.indexOf(text.charCodeAt(0))
    if (index < 0) {
      const child = new Node<T>(text)
      node.codes.push(text.charCodeAt(0))
      node.children.push(child)
      return child
    }
    const child = node.children[index]!
    const common = commonPrefixLength(child.prefix, text)
    if (common < child.prefix.length) {
      // Split: the child keeps the rest of its prefix under a new node holding the common part.
      const middle = new Node<T>(child.prefix.slice(0, common))
      child.prefix = child.prefix.slice(common)
      middle.codes.push(child.prefix.charCodeAt(0))
      middle.children.push(child)
      node.children[index] = middle
      node = middle
    } else {
      node = child
    }
    text = text.slice(common)
  }
  return node
}

/**
 * `path.startsWith(text, position)` for a child found by its first char (so from the second on), without
 * the builtin's call: prefixes are short and a loop is cheaper.
 */
function hasAt(path: string, text: string, position: number): boolean {
  const length = text.length
  if (position + length > path.length) return false
  for (let index = 1; index < length; index++) if (path.charCodeAt(position + index) !== text.charCodeAt(index)) return false
  return true
}

function commonPrefixLength(a: string, b: string): number {
  const length = Math.min(a.length, b.length)
  let index = 0
  while (index < length && a.charCodeAt(index) === b.charCodeAt(index)) index++
  return index
}

function splitKey(key: string): { method: string | null; path: string } {
  if (typeof key !== 'string' || key.length === 0) throw new RouteError('BAD_ROUTE', `Invalid route ${JSON.stringify(key)}: expected "/path" or "METHOD /path"`)
  if (key[0] === '/') return { method: null, path: key }
  const space = key.indexOf(' ')
  const method = space < 0 ? key : key.slice(0, space)
  if (!METHOD_SET.has(method)) {
    throw new RouteError('BAD_ROUTE', `Invalid route ${JSON.stringify(key)}: expected "/path" or "METHOD /path" with METHOD one of ${ROUTE_METHODS.join(', ')}`)
  }
  const path = space < 0 ? '' : key.slice(space + 1)
  if (path[0] !== '/') throw new RouteError('BAD_ROUTE', `Invalid route ${JSON.stringify(key)}: the path must start with "/" after one space`)
  return { method, path }
}

/** Cuts a path pattern into tokens; `pattern` is its shape with parameters unnamed (for conflicts). */
function parsePattern(path: string, key: string): { tokens: Token[]; names: string[]; pattern: string } {
  if (/[\s?#]/.test(path)) throw new RouteError('BAD_ROUTE', `Invalid route ${JSON.stringify(key)}: a path has no spaces, "?" or "#"`)
  const segments = path.slice(1).split('/')
  const tokens: Token[] = []
  const names: string[] = []
  let literal = '/'
  let pattern = '/'
  for (let index = 0; index < segments.length; index++) {
    const segment = segments[index]!
    const last = index === segments.length - 1
    if (segment[0] === ':') {
      const name = segment.slice(1)
      if (!PARAM_NAME.test(name)) throw new RouteError('BAD_ROUTE', `Invalid route ${JSON.stringify(key)}: parameter ${JSON.stringify(segment)} must be ":" and a name of letters, digits or "_", the whole segment`)
      if (name === '__proto__') throw new RouteError('BAD_ROUTE', `Invalid route ${JSON.stringify(key)}: ":__proto__" cannot name a parameter (it is the prototype of request.params)`)
      if (names.includes(name)) throw new RouteError('BAD_ROUTE', `Invalid route ${JSON.stringify(key)}: parameter ":${name}" appears twice`)
      tokens.push(literal, PARAM)
      names.push(name)
      literal = ''
      pattern += ':'
    } else if (segment === '*') {
      if (!last) throw new RouteError('BAD_ROUTE', `Invalid route ${JSON.stringify(key)}: "*" must be the last segment`)
      tokens.push(literal, WILDCARD)
      names.push('*')
      literal = ''
      pattern += '*'
    } else {
      if (segment.includes(':') || segment.includes('*')) {
        throw new RouteError('BAD_ROUTE', `Invalid route ${JSON.stringify(key)}: ":" starts a parameter and "*" is a whole last segment; segment ${JSON.stringify(segment)} mixes them with text`)
      }
      // Literal text is matched against the path as sent, so text outside ASCII is matched in its UTF-8 escapes.
      const text = /[^\x21-\x7e]/.test(segment) ? encodeURI(segment) : segment
      literal += text
      pattern += text
    }
    if (!last) {
      literal += '/'
      pattern += '/'
    }
  }
  if (literal.length > 0) tokens.push(literal)
  return { tokens: tokens.filter((token) => token !== ''), names, pattern }
}

/**
 * A function that names a lookup's values for one pattern: `(values) => ({ id: decode(values[0], 'id') })`,
 * compiled once per pattern (as find-my-way does). Assigning names one by one to `{}` makes every lookup
 * walk the shape transitions through a megamorphic keyed store; one literal per pattern does not. Names are
 * checked identifiers or "*", and each is written through JSON.stringify, so the source holds no text of
 * the route's but quoted names.
 */
function paramsMaker(names: string[]): (values: string[]) => Record<string, string> {
  if (names.length === 0) return () => NO_PARAMS
  const fields = names.map((name, index) => `${JSON.stringify(name)}: decode(values[${index}], ${JSON.stringify(name)})`)
  return new Function('decode', `return (values) => ({ ${fields.join(', ')} })`)(decodeParam) as (values: string[]) => Record<string, string>
}

/** Percent-decodes a parameter value (UTF-8); a malformed escape is the client's error: 400. */
export function decodeParam(raw: string, name: string): string {
  if (raw.indexOf('%') < 0) return raw
  try {
    return decodeURIComponent(raw)
  } catch {
    throw new HttpError(400, 'BAD_PARAMETER', `Parameter ${name} is not valid percent-encoded UTF-8`)
  }
}
