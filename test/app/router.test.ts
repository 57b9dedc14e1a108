/*
 * Router: precedence (exact, then parameters, then wildcards, whatever the order of definition), methods
 * (405's Allow, HEAD by GET, routes for every method), decoding of parameters, and every kind of bad key.
 * A property test checks lookups against a plain reference matcher on random tables and paths.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { HttpError, RouteError, Router } from '../../src/index.ts'

function routerOf(keys: string[]): Router<string> {
  const router = new Router<string>()
  for (const key of keys) router.add(key, key)
  return router
}

test('Router.find() prefers an exact path to a parameter, and a parameter to a wildcard, in any order of definition', () => {
  const keys = ['GET /files/*', 'GET /files/:name', 'GET /files/readme', 'GET /files/:name/raw', 'GET /*']
  for (const order of [keys, [...keys].reverse()]) {
    const router = routerOf(order)
    assert.equal(router.find('GET', '/files/readme')?.value, 'GET /files/readme')
    assert.deepEqual(router.find('GET', '/files/notes')?.params, { name: 'notes' })
    assert.equal(router.find('GET', '/files/notes/raw')?.value, 'GET /files/:name/raw')
    assert.deepEqual(router.find('GET', '/files/notes/other')?.params, { '*': 'notes/other' })
    assert.equal(router.find('GET', '/elsewhere')?.value, 'GET /*')
  }
})

test('Router.find() names parameters as own properties, whatever their names', () => {
  const router = routerOf(['GET /:constructor/:toString/:hasOwnProperty/*'])
  const params = router.find('GET', '/a/b/c/d/e')?.params
  assert.deepEqual(params, { constructor: 'a', toString: 'b', hasOwnProperty: 'c', '*': 'd/e' })
  assert.deepEqual(Object.keys(params!), ['constructor', 'toString', 'hasOwnProperty', '*'])
  assert.equal(Object.getPrototypeOf(params), Object.prototype)
})

test('Router.find() backtracks to a route that serves the method', () => {
  const router = routerOf(['GET /users/me', 'POST /users/:id', 'DELETE /users/*'])
  assert.equal(router.find('POST', '/users/me')?.value, 'POST /users/:id')
  assert.equal(router.find('DELETE', '/users/me')?.value, 'DELETE /users/*')
  const match = router.find('PUT', '/users/me')
  assert.equal(match?.value, null, 'a known path under other methods only')
  assert.equal(match?.allow, 'GET, HEAD, OPTIONS', 'Allow is the most specific matching path\'s')
})

test('Router.find() serves HEAD with the GET route, and a route without a method serves every method', () => {
  const router = routerOf(['GET /a', '/b', 'HEAD /c', 'GET /c'])
  assert.equal(router.find('HEAD', '/a')?.value, 'GET /a')
  assert.equal(router.find('PATCH', '/b')?.value, '/b')
  assert.equal(router.find('HEAD', '/c')?.value, 'HEAD /c')
  assert.equal(router.find('POST', '/a')?.allow, 'GET, HEAD, OPTIONS')
  assert.equal(router.find('GET', '/b')?.allow, 'GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH, TRACE')
  assert.equal(router.find('GET', '/nothing'), null)
})

test('Router.find() matches paths strictly: trailing slashes, empty segments and case count', () => {
  const router = routerOf(['GET /users', 'GET /users/:id', 'GET /assets/*'])
  assert.equal(router.find('GET', '/users/')?.value, undefined, 'an empty segment is no parameter')
  assert.equal(router.find('GET', '/Users'), null)
  assert.deepEqual(router.find('GET', '/assets/')?.params, { '*': '' }, 'a wildcard may be empty')
  assert.equal(router.find('GET', '/assets'), null)
})

test('Router.find() decodes parameters exactly and refuses malformed escapes with 400', () => {
  const router = routerOf(['GET /u/:name', 'GET /f/*'])
  assert.deepEqual(router.find('GET', '/u/%E2%82%AC%20x')?.params, { name: '€ x' })
  assert.deepEqual(router.find('GET', '/u/a%2Fb')?.params, { name: 'a/b' }, 'an escaped slash stays inside the parameter')
  assert.deepEqual(router.find('GET', '/u/100%25')?.params, { name: '100%' })
  assert.deepEqual(router.find('GET', '/f/a%20b/c')?.params, { '*': 'a b/c' })
  for (const bad of ['/u/%', '/u/%4', '/u/%zz', '/u/%C3%28', '/u/%FF', '/u/%ED%A0%80']) {
    assert.throws(() => router.find('GET', bad), (error: unknown) => error instanceof HttpError && error.status === 400 && error.code === 'BAD_PARAMETER', bad)
  }
})

test('Router literal text outside ASCII matches its UTF-8 escapes', () => {
  const router = routerOf(['GET /café/:x'])
  assert.deepEqual(router.find('GET', '/caf%C3%A9/1')?.params, { x: '1' })
})

test('Router.add() refuses two routes for one method and path, naming both', () => {
  for (const [first, second] of [['GET /a/:id', 'GET /a/:id'], ['GET /a/:id', 'GET /a/:name'], ['/x', '/x'], ['POST /f/*', 'POST /f/*']]) {
    const router = routerOf([first!])
    assert.throws(() => router.add(second!, second!), (error: unknown) =>
      error instanceof RouteError && error.code === 'ROUTE_CONFLICT' && error.message.includes(JSON.stringify(first)) && error.message.includes(JSON.stringify(second)))
  }
  const router = routerOf(['GET /a/:id'])
  assert.throws(() => router.add('POST /a/:name', 'x'), (error: unknown) => error instanceof RouteError && error.code === 'BAD_ROUTE' && /names its parameters/.test(error.message))
  router.add('POST /a/:id', 'ok')
  router.add('/a/:id', 'any')
})

test('Router.add() says what is wrong with a bad key', () => {
  const bad: [string, RegExp][] = [
    ['', /expected "\/path" or "METHOD \/path"/],
    ['users', /METHOD one of GET/],
    ['get /users', /METHOD one of GET/],
    ['CONNECT /x', /METHOD one of GET/],
    ['GET', /must start with "\/"/],
    ['GET  /x', /must start with "\/"/],
    ['GET /a b', /no spaces/],
    ['GET /a?b', /"\?"/],
    ['GET /a/:', /parameter/],
    ['GET /a/:1x', /parameter/],
    ['GET /a/:id/:id', /appears twice/],
    ['GET /a/:__proto__', /cannot name a parameter/],
    ['GET /a/*/b', /last segment/],
    ['GET /a/x:y', /mixes/],
    ['GET /a/x*', /mixes/],
  ]
  for (const [key, message] of bad) {
    assert.throws(() => new Router<string>().add(key, key), (error: unknown) => error instanceof RouteError && error.code === 'BAD_ROUTE' && message.test(error.message), key)
  }
})

/** The reference: every pattern that matches, the best by segment kinds (literal > parameter > wildcard), left to right. */
function reference(routes: { method: string | null; path: string }[], method: string, path: string): string | null | undefined {
  const parts = path.slice(1).split('/')
  let best: { rank: number[]; key: string | null } | undefined
  const candidates: { rank: number[]; serves: boolean; key: string }[] = []
  for (const route of routes) {
    const segments = route.path.slice(1).split('/')
    const rank: number[] = []
    let ok = true
    for (let i = 0; i < segments.length; i++) {
      const segment = segments[i]!
      if (segment === '*') {
        ok = i <= parts.length - (i === parts.length ? 0 : 0) && parts.length >= i + 1
        rank.push(0)
        break
      }
      const part = parts[i]
      if (part === undefined) { ok = false; break }
      if (segment.startsWith(':')) { ok = part !== ''; rank.push(1) } else { ok = segment === part; rank.push(2) }
      if (!ok) break
      if (i === segments.length - 1 && parts.length !== segments.length) ok = false
    }
    if (!ok) continue
    const serves = route.method === method || route.method === null || (method === 'HEAD' && route.method === 'GET')
    candidates.push({ rank, serves, key: route.method === null ? route.path : `${route.method} ${route.path}` })
  }
  const better = (a: number[], b: number[]): boolean => {
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      const x = a[i] ?? -1
      const y = b[i] ?? -1
      if (x !== y) return x > y
    }
    return false
  }
  for (const candidate of candidates) if (candidate.serves && (best === undefined || better(candidate.rank, best.rank))) best = candidate
  if (best !== undefined) {
    // Among routes of one pattern, a method's own route wins over the one for every method.
    const same = candidates.filter((c) => c.serves && c.rank.join() === best!.rank.join())
    const own = same.find((c) => c.key.startsWith(`${method} `)) ?? same.find((c) => c.key.startsWith('GET ') && method === 'HEAD') ?? same[0]!
    return own.key
  }
  return candidates.length > 0 ? null : undefined
}

test('Router.find() agrees with a plain reference matcher on random tables and paths', () => {
  const segment = fc.constantFrom('a', 'b', 'ab', ':p', ':q')
  const pattern = fc.tuple(fc.array(segment, { minLength: 0, maxLength: 3 }), fc.boolean()).map(([segments, wild]) => {
    const names = new Set<string>()
    const named = segments.map((s, i) => (s.startsWith(':') ? `:${s.slice(1)}${i}` : s)).filter((s) => !s.startsWith(':') || !names.has(s) && names.add(s))
    return `/${[...named, ...(wild ? ['*'] : [])].join('/')}`
  })
  const route = fc.record({ method: fc.constantFrom('GET', 'POST', null), path: pattern })
  const path = fc.array(fc.constantFrom('a', 'b', 'ab', 'c', ''), { minLength: 0, maxLength: 4 }).map((parts) => `/${parts.join('/')}`)
  fc.assert(fc.property(fc.array(route, { maxLength: 8 }), fc.array(fc.tuple(fc.constantFrom('GET', 'HEAD', 'POST', 'PUT'), path), { minLength: 1, maxLength: 6 }), (routes, lookups) => {
    const router = new Router<string>()
    const added: typeof routes = []
    for (const one of routes) {
      const key = one.method === null ? one.path : `${one.method} ${one.path}`
      try {
        router.add(key, key)
        added.push(one)
      } catch (error) {
        if (!(error instanceof RouteError)) throw error
      }
    }
    for (const [method, where] of lookups) {
      const expected = reference(added, method, where)
      const found = router.find(method, where)
      assert.equal(found === null ? undefined : found.value, expected, `${method} ${where} in ${added.map((r) => `${r.method ?? ''} ${r.path}`).join(', ')}`)
    }
  }), { numRuns: 2000, seed: 12345 })
})
