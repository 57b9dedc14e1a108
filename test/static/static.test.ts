import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { gzipSync } from 'node:zlib'
import { serve, StaticFiles, type Server } from '../../src/index.ts'
import { safeSegments } from '../../src/static/paths.ts'
import { parseRange } from '../../src/static/ranges.ts'
import { collectGarbage } from '../helpers/gc.ts'
import { assertNoOpenHandles, exchange, RawClient, type Reply, WAIT_MS } from '../helpers/raw-client.ts'

const gc = collectGarbage

const base = mkdtempSync(join(tmpdir(), 'wirespeed-static-'))
const root = join(base, 'site')
const outside = join(base, 'secret.txt')
const big = Buffer.alloc(24 * 1024 * 1024 + 17, 'abcdefghij')
const burst = Buffer.alloc(900 * 1024, 'burst ')
let server: Server

before(async () => {
  mkdirSync(join(root, 'docs'), { recursive: true })
  writeFileSync(join(root, 'index.html'), '<h1>home</h1>')
  writeFileSync(join(root, 'docs', 'index.html'), '<h1>docs</h1>')
  writeFileSync(join(root, 'style.css'), 'body{}')
  writeFileSync(join(root, 'app.js'), 'console.log(1)'.repeat(100))
  writeFileSync(join(root, 'app.js.gz'), gzipSync('console.log(1)'.repeat(100)))
  writeFileSync(join(root, 'app.js.br'), 'pretend-brotli')
  writeFileSync(join(root, '.env'), 'SECRET=1')
  writeFileSync(join(root, 'big.bin'), big)
  // Written before the server watches: no report of it can come in the middle of the burst test and drop its load.
  writeFileSync(join(root, 'burst.bin'), burst)
  writeFileSync(outside, 'outside the root')
  symlinkSync(outside, join(root, 'escape.txt'))
  symlinkSync(base, join(root, 'escape-dir'))
  symlinkSync(join(root, 'style.css'), join(root, 'inside-link.css'))
  server = await serve({ port: 0, static: { root, fileBytesMax: 1024 * 1024, debounceMs: 10 } })
})

after(async () => {
  await server.close()
  rmSync(base, { recursive: true, force: true })
  await assertNoOpenHandles()
})

/**
 * Descriptors this process holds open on `file`, or on any path `file` matches (Linux: /proc/self/fd;
 * elsewhere 0, the check is skipped).
 */
function openDescriptors(file: string | ((path: string) => boolean)): number {
  if (process.platform !== 'linux') return 0
  const matches = typeof file === 'string' ? (path: string) => path === file : file
  let count = 0
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (matches(readlinkSync(`/proc/self/fd/${fd}`))) count++
    } catch {}
  }
  return count
}

async function get(path: string, headers = '', method = 'GET'): Promise<Reply> {
  const { replies, client } = await exchange(server.port, `${method} ${path} HTTP/1.1\r\nHost: a\r\n${headers}\r\n`)
  client.close()
  return replies[0]!
}

describe('static files', () => {
  test('serves a file with Content-Type, Content-Length, ETag, Last-Modified and Cache-Control', async () => {
    const reply = await get('/style.css')
    assert.equal(reply.status, 200)
    assert.equal(reply.body.toString(), 'body{}')
    assert.equal(reply.headers.get('content-type'), 'text/css; charset=utf-8')
    assert.equal(reply.headers.get('content-length'), '6')
    assert.match(reply.headers.get('etag')!, /^"[0-9a-f]+-[0-9a-f]+"$/)
    assert.ok(reply.headers.has('last-modified'))
    assert.equal(reply.headers.get('cache-control'), 'no-cache')
    assert.equal((await get('/style.css')).body.toString(), 'body{}', 'the second answer comes from memory')
  })

  test('serves index.html for a folder and redirects /dir to /dir/ keeping the query', async () => {
    assert.equal((await get('/')).body.toString(), '<h1>home</h1>')
    assert.equal((await get('/docs/')).body.toString(), '<h1>docs</h1>')
    const redirect = await get('/docs?x=1')
    assert.equal(redirect.status, 301)
    assert.equal(redirect.headers.get('location'), '/docs/?x=1')
  })

  test('answers 404 for a missing file and 405 with Allow for other methods', async () => {
    assert.equal((await get('/nope.html')).status, 404)
    const post = await get('/style.css', 'Content-Length: 0\r\n', 'POST')
    assert.equal(post.status, 405)
    assert.equal(post.headers.get('allow'), 'GET, HEAD, OPTIONS')
  })

  test('answers HEAD for a file too large to hold with its full length and no body', async () => {
    const client = await RawClient.open(server.port)
    client.send('HEAD /big.bin HTTP/1.1\r\nHost: a\r\n\r\n')
    const [reply] = await client.replies(1, WAIT_MS, true)
    assert.equal(reply!.headers.get('content-length'), String(big.length))
    await sleep(50)
    assert.equal(client.received.toString().endsWith('\r\n\r\n'), true)
    client.close()
  })

  test('answers HEAD with the headers only', async () => {
    const client = await RawClient.open(server.port)
    client.send('HEAD /style.css HTTP/1.1\r\nHost: a\r\n\r\n')
    const [reply] = await client.replies(1, WAIT_MS, true)
    assert.equal(reply!.headers.get('content-length'), '6')
    await sleep(20)
    assert.equal(client.received.toString().endsWith('\r\n\r\n'), true)
    client.close()
  })

  test('answers 304 to If-None-Match and If-Modified-Since', async () => {
    const first = await get('/style.css')
    const etag = first.headers.get('etag')!
    const byTag = await get('/style.css', `If-None-Match: "other", ${etag}\r\n`)
    assert.equal(byTag.status, 304)
    assert.equal(byTag.body.length, 0)
    assert.equal(byTag.headers.get('etag'), etag)
    assert.equal((await get('/style.css', `If-None-Match: W/${etag}\r\n`)).status, 304)
    assert.equal((await get('/style.css', 'If-None-Match: "nope"\r\n')).status, 200)
    assert.equal((await get('/style.css', `If-Modified-Since: ${first.headers.get('last-modified')}\r\n`)).status, 304)
    assert.equal((await get('/style.css', 'If-Modified-Since: Thu, 01 Jan 1970 00:00:00 GMT\r\n')).status, 200)
  })

  test('answers a byte range with 206, and 416 when it cannot be satisfied', async () => {
    const part = await get('/style.css', 'Range: bytes=1-3\r\n')
    assert.equal(part.status, 206)
    assert.equal(part.body.toString(), 'ody')
    assert.equal(part.headers.get('content-range'), 'bytes 1-3/6')
    assert.equal((await get('/style.css', 'Range: bytes=-2\r\n')).body.toString(), '{}')
    const none = await get('/style.css', 'Range: bytes=6-\r\n')
    assert.equal(none.status, 416)
    assert.equal(none.headers.get('content-range'), 'bytes */6')
    assert.equal((await get('/style.css', 'Range: bytes=0-1,3-4\r\n')).status, 200, 'several ranges: the whole file')
    assert.equal((await get('/style.css', 'Range: bytes=1-2\r\nIf-Range: "stale"\r\n')).status, 200)
  })

  test('serves precompressed siblings when Accept-Encoding allows, with Vary', async () => {
    const br = await get('/app.js', 'Accept-Encoding: gzip, br\r\n')
    assert.equal(br.headers.get('content-encoding'), 'br')
    assert.equal(br.body.toString(), 'pretend-brotli')
    assert.equal(br.headers.get('vary'), 'Accept-Encoding')
    const gz = await get('/app.js', 'Accept-Encoding: gzip, br;q=0\r\n')
    assert.equal(gz.headers.get('content-encoding'), 'gzip')
    const plain = await get('/app.js')
    assert.equal(plain.headers.has('content-encoding'), false)
    assert.equal(plain.headers.get('vary'), 'Accept-Encoding')
    assert.equal(plain.body.toString(), 'console.log(1)'.repeat(100))
  })

  test('a burst of requests that miss one file reads it once, and each gets the whole answer', async (t) => {
    // /proc/self/io counts the bytes this process read, files and sockets: HEAD replies bring almost none.
    if (process.platform !== 'linux') return t.skip('reads are counted through /proc/self/io')
    const bytesRead = () => Number(/rchar: (\d+)/.exec(readFileSync('/proc/self/io', 'latin1'))![1])
    const file = burst
    const clients = await Promise.all(Array.from({ length: 20 }, () => RawClient.open(server.port)))
    const before = bytesRead()
    for (const client of clients) client.send('HEAD /burst.bin HTTP/1.1\r\nHost: a\r\n\r\n')
    const replies = (await Promise.all(clients.map((client) => client.replies(1, WAIT_MS, true)))).map(([reply]) => reply!)
    const read = bytesRead() - before
    for (const client of clients) client.close()
    assert.deepEqual(new Set(replies.map((reply) => `${reply.status} ${reply.headers.get('content-length')} ${reply.headers.get('etag')}`)).size, 1)
    assert.equal(replies[0]!.status, 200)
    assert.equal(replies[0]!.headers.get('content-length'), String(file.length))
    assert.ok(read < 2 * file.length, `${read} bytes read for 20 requests that missed a file of ${file.length} bytes (one load: about ${file.length})`)
    assert.equal((await get('/burst.bin')).body.length, file.length) // and it is cached whole for the next
  })

  test('refuses path traversal in every encoding', async () => {
    for (const path of ['/../secret.txt', '/%2e%2e/secret.txt', '/%2E%2E/secret.txt', '/docs/%2e%2e/%2e%2e/secret.txt', '/.%2e/secret.txt', '/docs/../../secret.txt', '/%2e%2e%2fsecret.txt', '/..%5csecret.txt', '/..\\secret.txt', '/a%00.html', '/%', '/%zz']) {
      const reply = await get(path)
      assert.equal(reply.status, 400, `${path} answered ${reply.status}`)
      assert.equal(reply.body.includes('outside the root'), false)
    }
  })

  test('never follows a symlink out of the root, but serves one inside it', async () => {
    assert.equal((await get('/escape.txt')).status, 404)
    assert.equal((await get('/escape-dir/secret.txt')).status, 404)
    assert.equal((await get('/inside-link.css')).body.toString(), 'body{}')
  })

  test('hides dotfiles', async () => {
    assert.equal((await get('/.env')).status, 404)
    assert.equal((await get('/%2eenv')).status, 404)
  })

  test('sees an edited, a created and a deleted file through the watcher', async () => {
    const file = join(root, 'live.txt')
    writeFileSync(file, 'first')
    assert.equal((await get('/live.txt')).body.toString(), 'first')
    writeFileSync(file, 'second version')
    await eventually(async () => (await get('/live.txt')).body.toString() === 'second version', 'the edit')
    unlinkSync(file)
    await eventually(async () => (await get('/live.txt')).status === 404, 'the delete')
    writeFileSync(join(root, 'docs', 'new.txt'), 'new')
    await eventually(async () => (await get('/docs/new.txt')).body.toString() === 'new', 'the create')
  })

  test('streams a big file to a slow reader without reading it whole', async () => {
    const client = await RawClient.open(server.port)
    client.socket.pause()
    gc()
    const before = process.memoryUsage().arrayBuffers
    client.send('GET /big.bin HTTP/1.1\r\nHost: a\r\n\r\n')
    await sleep(300)
    gc()
    const held = process.memoryUsage().arrayBuffers - before
    // Loopback socket buffers take a few MB; the server itself keeps about one chunk and the write buffer.
    assert.ok(held < 4 * 1024 * 1024, `the server holds ${held} bytes of a ${big.length}-byte file for a reader that does not read`)
    client.socket.resume()
    const [reply] = await client.replies(1, 20_000)
    assert.equal(reply!.body.length, big.length)
    assert.ok(reply!.body.equals(big))
    const part = await get('/big.bin', 'Range: bytes=1000-1009\r\n')
    assert.equal(part.status, 206)
    assert.equal(part.body.toString(), big.subarray(1000, 1010).toString())
    client.close()
  })

  // A file above fileBytesMax leaves by sendfile(2) on the epoll backend and in chunks read here on node:net.
  test('sends big files in order with pipelined requests around them, and closes each file it opened', async () => {
    const client = await RawClient.open(server.port)
    client.send('GET /big.bin HTTP/1.1\r\nHost: a\r\n\r\nGET /style.css HTTP/1.1\r\nHost: a\r\n\r\nGET /big.bin HTTP/1.1\r\nHost: a\r\nRange: bytes=5-24000004\r\n\r\nGET /index.html HTTP/1.1\r\nHost: a\r\n\r\n')
    const replies = await client.replies(4, 20_000)
    assert.deepEqual(replies.map((reply) => reply.status), [200, 200, 206, 200])
    assert.ok(replies[0]!.body.equals(big))
    assert.equal(replies[1]!.body.toString(), 'body{}')
    assert.ok(replies[2]!.body.equals(big.subarray(5, 24_000_005)))
    assert.equal(replies[3]!.body.toString(), '<h1>home</h1>')
    client.close()
    await eventually(async () => openDescriptors(join(root, 'big.bin')) === 0, 'every descriptor of big.bin closed')
  })

  test('a client that goes away in the middle of a big file: the file is closed', async () => {
    const client = await RawClient.open(server.port)
    client.send('GET /big.bin HTTP/1.1\r\nHost: a\r\n\r\n')
    await client.waitFor(() => client.received.length > 100_000, WAIT_MS, 'the first bytes of the file')
    client.socket.destroy()
    await eventually(async () => openDescriptors(join(root, 'big.bin')) === 0, 'the descriptor of big.bin closed')
  })

  test('a big file that shrinks while it is sent: the connection closes short of the length, and the server serves on', async () => {
    const file = join(root, 'shrinking.bin')
    writeFileSync(file, big)
    const client = await RawClient.open(server.port)
    client.socket.pause()
    client.send('GET /shrinking.bin HTTP/1.1\r\nHost: a\r\n\r\n')
    await sleep(300)
    truncateSync(file, 1000)
    client.socket.resume()
    await client.waitForClose(20_000)
    const headEnd = client.received.indexOf('\r\n\r\n') + 4
    assert.match(client.received.subarray(0, headEnd).toString(), /content-length: 25165841/i)
    assert.ok(client.received.length - headEnd < big.length, 'fewer bytes than the length promised, then the close')
    assert.equal((await get('/style.css')).status, 200)
    await eventually(async () => openDescriptors(file) === 0, 'the descriptor of shrinking.bin closed')
    unlinkSync(file)
  })
})

/** Copies of cached bodies this process holds in memory for sendfile(2) (src/static/memory-file.ts). */
function memoryCopies(): number {
  return openDescriptors((path) => path.startsWith(`/dev/shm/.wirespeed-${process.pid}-`))
}

describe('static files above 16 KiB held in memory', () => {
  test('leave whole, ranged and pipelined, by sendfile from a copy in memory on epoll; an edit replaces the copy; close() closes it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wirespeed-static-copy-'))
    const first = Buffer.alloc(100 * 1024 + 3, 'first version. ')
    const second = Buffer.alloc(40 * 1024, 'the second one. ')
    writeFileSync(join(dir, 'mid.bin'), first)
    writeFileSync(join(dir, 'small.txt'), 'small')
    const before = memoryCopies()
    const local = await serve({ port: 0, static: { root: dir, debounceMs: 10 } })
    const copies = local.backend === 'epoll' && process.platform === 'linux' ? 1 : 0
    try {
      const request = (path: string, headers = '') => `GET ${path} HTTP/1.1\r\nHost: a\r\n${headers}\r\n`
      // One request first puts the file in the cache: pipelined misses of one path would each load it.
      const warm = await exchange(local.port, request('/mid.bin'))
      warm.client.close()
      assert.ok(warm.replies[0]!.body.equals(first))
      const client = await RawClient.open(local.port)
      client.send(request('/mid.bin') + request('/small.txt') + request('/mid.bin', 'Range: bytes=20000-89999\r\n') + request('/mid.bin', 'Range: bytes=10-19\r\n') + request('/mid.bin'))
      const replies = await client.replies(5, 10_000)
      assert.deepEqual(replies.map((reply) => reply.status), [200, 200, 206, 206, 200])
      assert.ok(replies[0]!.body.equals(first))
      assert.equal(replies[0]!.headers.get('content-length'), String(first.length))
      assert.equal(replies[1]!.body.toString(), 'small')
      assert.ok(replies[2]!.body.equals(first.subarray(20000, 90000)))
      assert.equal(replies[2]!.headers.get('content-range'), `bytes 20000-89999/${first.length}`)
      assert.ok(replies[3]!.body.equals(first.subarray(10, 20)))
      assert.ok(replies[4]!.body.equals(first))
      const headClient = await RawClient.open(local.port)
      headClient.send('HEAD /mid.bin HTTP/1.1\r\nHost: a\r\n\r\n')
      const [head] = await headClient.replies(1, WAIT_MS, true)
      assert.equal(head!.headers.get('content-length'), String(first.length))
      await sleep(50)
      assert.ok(headClient.received.toString().endsWith('\r\n\r\n'), 'HEAD: the head alone')
      headClient.close()
      assert.equal(memoryCopies() - before, copies, 'one copy of the file while it is cached (epoll only)')

      writeFileSync(join(dir, 'mid.bin'), second)
      // (The watcher may report the write in more than one window: look until the new file is served from
      // one copy, each look a request that makes the copy if the cache lost it meanwhile.)
      await eventually(async () => {
        const { replies: [reply], client: c } = await exchange(local.port, request('/mid.bin'))
        c.close()
        return reply!.body.equals(second) && memoryCopies() - before === copies
      }, 'the edited file served, the old copy closed and one new copy made')
      client.close()
    } finally {
      await local.close()
      rmSync(dir, { recursive: true, force: true })
    }
    assert.equal(memoryCopies(), before, 'close() closes every copy')
  })
})

describe('static Content-Type', () => {
  test('serves the types of mime-db (.glb, .vtt, .mjs.map) and static.mimeTypes overrides', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wirespeed-static-types-'))
    for (const name of ['model.glb', 'captions.vtt', 'app.mjs.map', 'server.log', 'notes.md']) writeFileSync(join(dir, name), 'x')
    const local = await serve({ port: 0, static: { root: dir, watch: false, mimeTypes: { log: 'text/plain', md: 'application/x-notes' } } })
    try {
      const typeOf = async (path: string) => {
        const { replies, client } = await exchange(local.port, `GET ${path} HTTP/1.1\r\nHost: a\r\n\r\n`)
        client.close()
        return replies[0]!.headers.get('content-type')
      }
      assert.equal(await typeOf('/model.glb'), 'model/gltf-binary')
      assert.equal(await typeOf('/captions.vtt'), 'text/vtt; charset=utf-8')
      assert.equal(await typeOf('/app.mjs.map'), 'application/json; charset=utf-8')
      assert.equal(await typeOf('/server.log'), 'text/plain; charset=utf-8')
      assert.equal(await typeOf('/notes.md'), 'application/x-notes')
    } finally {
      await local.close()
      rmSync(dir, { recursive: true, force: true })
    }
    await assert.rejects(serve({ port: 0, static: { root: dir, mimeTypes: { md: 'bad' } } }), /^TypeError: Invalid option static\.mimeTypes\.md: expected a media type/)
  })
})

describe('static memory bounds, at N and N+1', () => {
  test('fileBytesMax keeps a file of N bytes in memory and streams N+1; cacheBytesMax bounds the total', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wirespeed-static-bounds-'))
    for (const [name, size] of [['a', 100], ['b', 101], ['c', 60], ['d', 60]] as const) writeFileSync(join(dir, name), 'x'.repeat(size))
    const files = new StaticFiles({ root: dir, fileBytesMax: 100, cacheBytesMax: 150, watch: false })
    const local = await serve({ port: 0, handler: (request, response) => files.handle(request, response) })
    try {
      const fetchBody = async (path: string) => {
        const { replies, client } = await exchange(local.port, `GET ${path} HTTP/1.1\r\nHost: a\r\n\r\n`)
        client.close()
        return replies[0]!.body.length
      }
      assert.equal(await fetchBody('/a'), 100)
      assert.equal(files.cachedBytes, 100, 'a file of fileBytesMax bytes is held')
      assert.equal(await fetchBody('/b'), 101)
      assert.equal(files.cachedBytes, 100, 'a file one byte larger streams and is not held')
      assert.equal(await fetchBody('/c'), 60)
      assert.equal(files.cachedBytes, 60, 'holding /a and /c would pass cacheBytesMax: the older one goes')
      assert.equal(await fetchBody('/d'), 60)
      assert.equal(files.cachedBytes, 120)
    } finally {
      await local.close()
      files.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('static helpers', () => {
  test('safeSegments() decodes once and refuses what could escape', () => {
    assert.deepEqual(safeSegments('/a/b%20c//d/', false), ['a', 'b c', 'd'])
    assert.throws(() => safeSegments('/a/%2e%2e/b', false), { status: 400 })
    assert.throws(() => safeSegments('/a%2fb', false), { status: 400 })
    assert.throws(() => safeSegments('/.git/config', false), { status: 404 })
    assert.deepEqual(safeSegments('/.well-known/x', true), ['.well-known', 'x'])
  })

  test('new StaticFiles() refuses an option it does not read, naming it (http-server\'s gzip, a misspelt cacheControl)', () => {
    for (const name of ['gzip', 'cachecontrl', 'index']) {
      assert.throws(() => new StaticFiles({ root, watch: false, [name]: true } as never),
        new RegExp(`^TypeError: Unknown option static\\.${name}: expected one of root, fileBytesMax, cacheBytesMax, dotfiles, cacheControl, watch, debounceMs, mimeTypes, compress, compressBytesMin, compressStreamsMax, spa, cleanUrls, trailingSlash, notFound, directoryListing, listingEntriesMax, cors, headers, hashedCacheControl, rewrites, redirects, unlisted$`))
    }
    assert.throws(() => new StaticFiles(null as never), /^TypeError: Invalid option static: expected a folder path or an object with root, got null$/)
  })

  test('parseRange() reads one byte range', () => {
    assert.deepEqual(parseRange('bytes=0-0', 10), [0, 0])
    assert.deepEqual(parseRange('bytes=5-', 10), [5, 9])
    assert.deepEqual(parseRange('bytes=-3', 10), [7, 9])
    assert.deepEqual(parseRange('bytes=8-100', 10), [8, 9])
    assert.equal(parseRange('bytes=10-', 10), 'unsatisfiable')
    assert.equal(parseRange('bytes=-0', 10), 'unsatisfiable')
    assert.equal(parseRange('bytes=5-2', 10), null)
    assert.equal(parseRange('items=0-1', 10), null)
    assert.equal(parseRange('bytes=0-1, 3-4', 10), null)
  })
})

/** Looks every 20 ms until `check()` holds, for up to about 30 s (seconds on a loaded core; it returns at once). */
async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 1500; i++) {
    if (await check()) return
    await sleep(20)
  }
  assert.fail(`Never saw ${what}`)
}
