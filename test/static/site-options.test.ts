import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { brotliDecompressSync } from 'node:zlib'
import { after, before, describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { serve, StaticFiles, type Server } from '../../src/index.ts'
import { staticLimitSpecs } from '../../src/limits.ts'
import { headerLines, isHashedName, listingHtml, parseHeaderFlag } from '../../src/static/site.ts'
import { assertNoOpenHandles, exchange, RawClient, type Reply } from '../helpers/raw-client.ts'

const base = mkdtempSync(join(tmpdir(), 'wirespeed-site-options-'))
const servers: Server[] = []

async function start(options: Record<string, unknown>): Promise<Server> {
  const server = await serve({ port: 0, static: { root: base, debounceMs: 10, ...options } })
  servers.push(server)
  return server
}

before(() => {
  mkdirSync(join(base, 'docs'))
  mkdirSync(join(base, 'files', 'sub'), { recursive: true })
  mkdirSync(join(base, 'assets'))
  writeFileSync(join(base, 'index.html'), 'home')
  writeFileSync(join(base, 'about.html'), 'about')
  writeFileSync(join(base, 'docs', 'index.html'), 'docs')
  writeFileSync(join(base, 'files', 'a.txt'), 'aaa')
  writeFileSync(join(base, 'files', '<b>&"x\'.txt'), 'b')
  writeFileSync(join(base, 'files', '.secret'), 'hidden')
  writeFileSync(join(base, 'assets', 'index-BzXqL3aK.js'), 'app()')
  writeFileSync(join(base, 'assets', 'main.3f2a9c1b.css'), 'a{}')
  writeFileSync(join(base, 'assets', 'plain.js'), 'plain()')
})

after(async () => {
  for (const server of servers) await server.close()
  rmSync(base, { recursive: true, force: true })
  await assertNoOpenHandles()
})

async function head(server: Server, path: string): Promise<Reply> {
  const client = await RawClient.open(server.port)
  client.send(`HEAD ${path} HTTP/1.1\r\nHost: a\r\n\r\n`)
  const [reply] = await client.replies(1, 5000, true)
  client.close()
  return reply!
}

async function get(server: Server, path: string, headers = '', method = 'GET'): Promise<Reply> {
  const { replies, client } = await exchange(server.port, `${method} ${path} HTTP/1.1\r\nHost: a\r\n${headers}\r\n`)
  client.close()
  return replies[0]!
}

describe('static trailingSlash', () => {
  test('true: a folder and a clean page are named with their slash', async () => {
    const server = await start({ trailingSlash: true, cleanUrls: true })
    for (const [path, location] of [['/docs', '/docs/'], ['/about', '/about/'], ['/about.html', '/about/'], ['/docs/index.html', '/docs/'], ['/about?x=1', '/about/?x=1']]) {
      const reply = await get(server, path)
      assert.equal(reply.status, 301, path)
      assert.equal(reply.headers.get('location'), location, path)
    }
    assert.equal((await get(server, '/about/')).body.toString(), 'about')
    assert.equal((await get(server, '/docs/')).body.toString(), 'docs')
    assert.equal((await get(server, '/assets/plain.js')).status, 200, 'a file keeps its name')
    assert.equal((await get(server, '/made-up')).status, 404, 'a name that does not exist is not redirected')
  })

  test('false: names lose their slash, and a folder serves its index.html without it', async () => {
    const server = await start({ trailingSlash: false, cleanUrls: true })
    for (const [path, location] of [['/docs/', '/docs'], ['/about/', '/about'], ['/about.html', '/about'], ['/docs/index.html', '/docs'], ['/assets/plain.js/', '/assets/plain.js']]) {
      const reply = await get(server, path)
      assert.equal(reply.status, 301, path)
      assert.equal(reply.headers.get('location'), location, path)
    }
    assert.equal((await get(server, '/docs')).body.toString(), 'docs')
    assert.equal((await get(server, '/about')).body.toString(), 'about')
    assert.equal((await get(server, '/')).body.toString(), 'home', 'the root keeps its slash')
  })

  test('refuses a value that is not a boolean', () => {
    assert.throws(() => new StaticFiles({ root: base, watch: false, trailingSlash: 'yes' as never }), /^TypeError: Invalid option static\.trailingSlash: expected true or false, got string$/)
  })
})

describe('static notFound', () => {
  test('the root\'s 404.html is sent with 404, compressed when asked, without validators; false keeps plain text', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wirespeed-404-'))
    const page = `<h1>not here</h1>${'x'.repeat(3000)}`
    writeFileSync(join(dir, '404.html'), page)
    const server = await serve({ port: 0, static: { root: dir, watch: false } })
    const plain = await serve({ port: 0, static: { root: dir, watch: false, notFound: false } })
    const spa = await serve({ port: 0, static: { root: dir, watch: false, spa: true, notFound: 'custom/missing.html' } })
    try {
      const reply = await get(server, '/nope')
      assert.equal(reply.status, 404)
      assert.equal(reply.body.toString(), page)
      assert.equal(reply.headers.get('content-type'), 'text/html; charset=utf-8')
      assert.equal(reply.headers.has('etag'), false)
      assert.equal(reply.headers.has('accept-ranges'), false)
      const headReply = await head(server, '/nope')
      assert.equal(headReply.status, 404)
      assert.equal(headReply.headers.get('content-length'), String(page.length))
      // Once its variants are made, the page goes compressed to a client that takes brotli.
      let compressed: Reply | undefined
      for (let i = 0; i < 200 && compressed?.headers.get('content-encoding') !== 'br'; i++) {
        if (i > 0) await sleep(10)
        compressed = await get(server, '/nope', 'Accept-Encoding: br\r\n')
      }
      assert.equal(compressed!.status, 404)
      assert.equal(brotliDecompressSync(compressed!.body).toString(), page)
      assert.equal((await get(server, '/404.html')).status, 200, 'the page itself is a file')
      const text = await get(plain, '/nope')
      assert.equal(text.status, 404)
      assert.match(text.body.toString(), /^Not Found/)
      assert.match((await get(spa, '/x.js')).body.toString(), /^Not Found/, 'a notFound page that is missing: plain text')
    } finally {
      await server.close()
      await plain.close()
      await spa.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test('refuses an empty path', () => {
    assert.throws(() => new StaticFiles({ root: base, watch: false, notFound: '/' }), /^TypeError: Invalid option static\.notFound/)
  })
})

describe('static directoryListing', () => {
  test('off by default: a folder without index.html is 404', async () => {
    const server = await start({})
    assert.equal((await get(server, '/files/')).status, 404)
  })

  test('HTML with names escaped, dotfiles hidden, folders first', async () => {
    const server = await start({ directoryListing: true })
    const reply = await get(server, '/files/', 'Accept: text/html\r\n')
    assert.equal(reply.status, 200)
    assert.equal(reply.headers.get('content-type'), 'text/html; charset=utf-8')
    assert.equal(reply.headers.get('vary'), 'Accept')
    const html = reply.body.toString()
    assert.ok(html.includes('&lt;b&gt;&amp;&quot;x&#39;.txt'), html)
    assert.ok(html.includes(`href="/files/${encodeURIComponent('<b>&"x\'.txt').replaceAll('&', '&amp;').replaceAll("'", '&#39;')}"`), html)
    assert.ok(html.includes('<a href="/">../</a>'), html)
    assert.ok(!html.includes('<b>'), 'no markup from a name')
    assert.ok(!html.includes('.secret'))
    assert.ok(html.indexOf('sub/') < html.indexOf('a.txt'), 'folders first')
    assert.equal((await get(server, '/docs/')).body.toString(), 'docs', 'a folder with index.html serves it')
    assert.equal((await get(server, '/files')).status, 301)
    assert.equal((await head(server, '/files/')).headers.get('content-length'), String(reply.body.length))
  })

  test('JSON when Accept prefers it', async () => {
    const server = await start({ directoryListing: true })
    const reply = await get(server, '/files/', 'Accept: application/json\r\n')
    assert.equal(reply.headers.get('content-type'), 'application/json; charset=utf-8')
    const listing = JSON.parse(reply.body.toString())
    assert.equal(listing.path, '/files/')
    assert.equal(listing.truncated, false)
    assert.deepEqual(listing.entries.map((entry: { name: string; type: string }) => [entry.name, entry.type]), [['sub', 'directory'], ['<b>&"x\'.txt', 'file'], ['a.txt', 'file']])
    assert.equal(listing.entries[2].size, 3)
  })

  test('listingEntriesMax: N entries listed whole, N+1 truncated', async () => {
    // /files/ has three entries shown (the dotfile is not counted).
    const whole = JSON.parse((await get(await start({ directoryListing: true, listingEntriesMax: 3 }), '/files/', 'Accept: application/json\r\n')).body.toString())
    assert.equal(whole.entries.length, 3)
    assert.equal(whole.truncated, false)
    const cut = JSON.parse((await get(await start({ directoryListing: true, listingEntriesMax: 2 }), '/files/', 'Accept: application/json\r\n')).body.toString())
    assert.equal(cut.entries.length, 2)
    assert.equal(cut.truncated, true)
    assert.equal(staticLimitSpecs.listingEntriesMax.value, 1000)
  })

  test('an index.html created in a listed folder takes over', async () => {
    const server = await start({ directoryListing: true })
    mkdirSync(join(base, 'later'))
    assert.equal((await get(server, '/later/', 'Accept: application/json\r\n')).headers.get('content-type'), 'application/json; charset=utf-8')
    writeFileSync(join(base, 'later', 'index.html'), 'now a page')
    for (let i = 0; i < 200; i++) {
      if ((await get(server, '/later/')).body.toString() === 'now a page') return
      await sleep(20)
    }
    assert.fail('the new index.html was never served')
  })

  test('listingHtml escapes the path too, and links from the root (a folder named without its slash too)', () => {
    assert.ok(listingHtml('/%3Cs%3E/', [], false).includes('Index of /&lt;s&gt;/'))
    const html = listingHtml('/a/b', [{ name: 'c d', directory: false, size: 1, modified: null }, { name: 'e', directory: true, size: null, modified: null }], true)
    assert.ok(html.includes('<a href="/a/b/c%20d">c d</a>'), html)
    assert.ok(html.includes('<a href="/a/b/e/">e/</a>'), html)
    assert.ok(html.includes('<a href="/a/">../</a>'), html)
    assert.ok(html.includes('Only the first 2 entries are listed.'), html)
  })
})

describe('static cors', () => {
  test('files say Access-Control-Allow-Origin; a preflight gets 204 with the allow lines; plain OPTIONS keeps Allow', async () => {
    const server = await start({ cors: true })
    assert.equal((await get(server, '/about.html')).headers.get('access-control-allow-origin'), '*')
    const preflight = await get(server, '/about.html', 'Origin: https://a.example\r\nAccess-Control-Request-Method: GET\r\nAccess-Control-Request-Headers: x-token, content-type\r\n', 'OPTIONS')
    assert.equal(preflight.status, 204)
    assert.equal(preflight.headers.get('access-control-allow-origin'), '*')
    assert.equal(preflight.headers.get('access-control-allow-methods'), 'GET, HEAD, OPTIONS')
    assert.equal(preflight.headers.get('access-control-allow-headers'), 'x-token, content-type')
    assert.equal(preflight.headers.get('access-control-max-age'), '86400')
    // Cached now: the second preflight is answered from the cache the same way.
    assert.equal((await get(server, '/about.html', 'Access-Control-Request-Method: GET\r\n', 'OPTIONS')).headers.get('access-control-allow-methods'), 'GET, HEAD, OPTIONS')
    const options = await get(server, '/about.html', '', 'OPTIONS')
    assert.equal(options.status, 204)
    assert.equal(options.headers.get('allow'), 'GET, HEAD, OPTIONS')
    assert.equal(options.headers.has('access-control-allow-methods'), false)
    assert.equal((await get(server, '/nope', 'Access-Control-Request-Method: GET\r\n', 'OPTIONS')).status, 404)
  })

  test('an origin is sent as given, with Vary: Origin; off by default', async () => {
    const server = await start({ cors: 'https://app.example' })
    const reply = await get(server, '/about.html')
    assert.equal(reply.headers.get('access-control-allow-origin'), 'https://app.example')
    assert.match(reply.headers.get('vary') ?? '', /Origin/)
    assert.equal((await get(await start({}), '/about.html')).headers.has('access-control-allow-origin'), false)
    assert.throws(() => new StaticFiles({ root: base, watch: false, cors: 'a\r\nb' }), /^TypeError: Invalid option static\.cors/)
  })
})

describe('static headers', () => {
  test('extra headers go with every file', async () => {
    const server = await start({ headers: { 'X-Frame-Options': 'DENY', 'Permissions-Policy': 'camera=()' } })
    const reply = await get(server, '/about.html')
    assert.equal(reply.headers.get('x-frame-options'), 'DENY')
    assert.equal(reply.headers.get('permissions-policy'), 'camera=()')
  })

  test('bad names, bad values and fields the server manages are refused, naming the field', () => {
    assert.throws(() => headerLines('h', { 'Bad Name': 'x' }), /^TypeError: Invalid header name "Bad Name" in h/)
    assert.throws(() => headerLines('h', { 'X-A': 'a\r\nSet-Cookie: x' }), /^TypeError: Invalid value of header X-A in h/)
    assert.throws(() => headerLines('h', { 'X-A': 'tab\tinside ok\0' }), /^TypeError: Invalid value of header X-A/)
    assert.throws(() => headerLines('h', { 'content-length': '1' }), /^TypeError: Invalid header content-length in h: the server sets it/)
    assert.equal(headerLines('h', { 'X-A': 'a\tb' }), 'X-A: a\tb\r\n')
    assert.throws(() => new StaticFiles({ root: base, watch: false, headers: { 'X:Y': 'z' } }), /^TypeError: Invalid header name "X:Y" in static\.headers/)
    assert.deepEqual(parseHeaderFlag('X-Frame-Options:  DENY '), ['X-Frame-Options', 'DENY'])
    assert.throws(() => parseHeaderFlag('no colon'), /expected "Name: value"/)
  })
})

describe('static hashedCacheControl', () => {
  test('names with a content hash, as Vite and webpack emit, and their maps; not words, versions, dates or HTML', () => {
    for (const name of ['/assets/index-BzXqL3aK.js', '/main.3f2a9c1b.css', '/a/chunk-Dk3jQ9xZ.js.map', '/vendor.5f3e2d1c0b9a8f7e6d5c.js']) assert.equal(isHashedName(name), true, name)
    for (const name of ['/app.js', '/jquery-3.7.1.min.js', '/library2.js', '/chapter10.js', '/report-20240101.pdf', '/index-BzXqL3aK.html', '/bootstrap.css', '/deadbeefcafe.js', '/Roboto-Regular.woff2']) assert.equal(isHashedName(name), false, name)
  })

  test('hashed assets get hashedCacheControl, everything else cacheControl', async () => {
    const server = await start({ cacheControl: 'max-age=60', hashedCacheControl: 'public, max-age=31536000, immutable' })
    assert.equal((await get(server, '/assets/index-BzXqL3aK.js')).headers.get('cache-control'), 'public, max-age=31536000, immutable')
    assert.equal((await get(server, '/assets/main.3f2a9c1b.css')).headers.get('cache-control'), 'public, max-age=31536000, immutable')
    assert.equal((await get(server, '/assets/plain.js')).headers.get('cache-control'), 'max-age=60')
    assert.equal((await get(server, '/')).headers.get('cache-control'), 'max-age=60')
    assert.equal((await get(await start({}), '/assets/index-BzXqL3aK.js')).headers.get('cache-control'), 'no-cache', 'off by default')
    assert.throws(() => new StaticFiles({ root: base, watch: false, hashedCacheControl: 'a\nb' }), /^TypeError: Invalid option static\.hashedCacheControl/)
  })
})
