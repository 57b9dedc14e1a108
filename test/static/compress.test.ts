import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import * as zlib from 'node:zlib'
import { serve, StaticFiles, type Server } from '../../src/index.ts'
import { zstdAvailable } from '../../src/static/compress.ts'
import { acceptedEncodings } from '../../src/static/conditions.ts'
import { collectGarbage } from '../helpers/gc.ts'
import { assertNoOpenHandles, exchange, RawClient, type Reply } from '../helpers/raw-client.ts'

const base = mkdtempSync(join(tmpdir(), 'wirespeed-compress-'))
/** A bundle-like script: compressible, above compressBytesMin, below 16 KiB (so held as a string). */
const script = Buffer.from(Array.from({ length: 300 }, (_, i) => `export function f${i}(a) { return a + ${i} }\n`).join(''))
const BROWSER = 'Accept-Encoding: gzip, deflate, br, zstd\r\n'
/** The codings made in memory here (zstd where node:zlib has it); cases that name zstd run only there. */
const CODINGS = zstdAvailable ? ['br', 'zstd', 'gzip'] : ['br', 'gzip']
const runnable = (accept: string) => zstdAvailable || !accept.includes('zstd')
let files: StaticFiles
let server: Server

before(async () => {
  writeFileSync(join(base, 'app.js'), script)
  writeFileSync(join(base, 'pre.css'), Buffer.alloc(4000, 'a { color: red }\n'))
  writeFileSync(join(base, 'pre.css.br'), 'pretend brotli')
  writeFileSync(join(base, 'image.png'), Buffer.alloc(4000, 7))
  writeFileSync(join(base, 'small.html'), '<p>small</p>')
  files = new StaticFiles({ root: base, debounceMs: 10 })
  server = await serve({ port: 0, handler: (request, response) => files.handle(request, response) })
})

after(async () => {
  await server.close()
  files.close()
  rmSync(base, { recursive: true, force: true })
  await assertNoOpenHandles()
})

async function get(port: number, path: string, headers = '', method = 'GET'): Promise<Reply> {
  const { replies, client } = await exchange(port, `${method} ${path} HTTP/1.1\r\nHost: a\r\n${headers}\r\n`)
  client.close()
  return replies[0]!
}

function decode(reply: Reply): Buffer {
  const coding = reply.headers.get('content-encoding')
  if (coding === 'br') return zlib.brotliDecompressSync(reply.body)
  if (coding === 'zstd') return zlib.zstdDecompressSync(reply.body)
  if (coding === 'gzip') return zlib.gunzipSync(reply.body)
  assert.equal(coding, undefined)
  return reply.body
}

/** Requests `path` once so it is cached, then waits until its variants are made. */
async function warm(staticFiles: StaticFiles, port: number, path: string): Promise<void> {
  await get(port, path)
  await staticFiles.compressed()
}

describe('static compression', () => {
  test('a cold file is served identity with Vary, then brotli to a browser, each coding decoding to the file', async () => {
    const cold = await get(server.port, '/app.js', BROWSER)
    assert.equal(cold.status, 200)
    assert.equal(cold.headers.get('vary'), 'Accept-Encoding')
    assert.ok(decode(cold).equals(script), 'whatever the first reply is, it is the file')
    await files.compressed()
    const br = await get(server.port, '/app.js', BROWSER)
    assert.equal(br.headers.get('content-encoding'), 'br')
    assert.equal(br.headers.get('vary'), 'Accept-Encoding')
    assert.equal(br.headers.get('content-type'), 'text/javascript; charset=utf-8')
    assert.equal(br.headers.get('content-length'), String(br.body.length))
    assert.ok(br.body.length < script.length / 3, `${br.body.length} bytes of brotli for ${script.length}`)
    assert.ok(decode(br).equals(script))
    for (const [accept, coding] of [['zstd', 'zstd'], ['gzip', 'gzip'], ['x-gzip', 'gzip'], ['gzip, zstd', 'zstd'], ['br, zstd, gzip', 'br']] as const) {
      if (!runnable(accept)) continue
      const reply = await get(server.port, '/app.js', `Accept-Encoding: ${accept}\r\n`)
      assert.equal(reply.headers.get('content-encoding'), coding, accept)
      assert.ok(decode(reply).equals(script), accept)
    }
    const plain = await get(server.port, '/app.js')
    assert.equal(plain.headers.has('content-encoding'), false, 'no Accept-Encoding: identity')
    assert.equal(plain.headers.get('vary'), 'Accept-Encoding')
    assert.equal(plain.headers.get('accept-ranges'), 'bytes')
    assert.ok(plain.body.equals(script))
  })

  test('Accept-Encoding q-values, "*", identity;q=0, and 406 only when nothing the file has is acceptable', async () => {
    await warm(files, server.port, '/app.js')
    const cases: [string, string | undefined][] = [
      ['br;q=0.5, gzip', 'gzip'], ['br;q=0.5, gzip;q=0.4', 'br'], ['gzip;q=0.5, identity', undefined], ['*', 'br'],
      ['*;q=0, gzip', 'gzip'], ['*;q=0, identity', undefined], ['identity;q=0, br', 'br'], ['identity;q=0, zstd;q=0.1', 'zstd'],
      ['', undefined], ['compress, deflate', undefined], ['br;q=0', undefined], ['BR;Q=1', 'br'], ['gzip;q=2, zstd', 'zstd'], [' gzip ; q=0.8 , br ; q=0.9', 'br'],
    ]
    for (const [accept, coding] of cases) {
      if (!runnable(accept)) continue
      const reply = await get(server.port, '/app.js', `Accept-Encoding: ${accept}\r\n`)
      assert.equal(reply.status, 200, accept)
      assert.equal(reply.headers.get('content-encoding'), coding, `Accept-Encoding: ${accept}`)
      assert.ok(decode(reply).equals(script), accept)
    }
    // identity;q=0 alone refuses identity and names no coding (only "*" would accept the unnamed ones).
    for (const accept of ['identity;q=0', 'identity;q=0, *;q=0', '*;q=0', 'br;q=0, zstd;q=0, gzip;q=0, identity;q=0']) {
      const reply = await get(server.port, '/app.js', `Accept-Encoding: ${accept}\r\n`)
      assert.equal(reply.status, 406, accept)
      assert.equal(reply.headers.get('vary'), 'Accept-Encoding')
    }
    assert.deepEqual(acceptedEncodings('gzip, br;q=0.5, *;q=0'), { br: 0.5, zstd: 0, gzip: 1, identity: 0 })
    assert.deepEqual(acceptedEncodings('gzip;q=0.5'), { br: 0, zstd: 0, gzip: 0.5, identity: 0.0001 })
  })

  test('a cold file asked for by a client that refuses identity waits for its variants rather than 406', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wirespeed-compress-cold-'))
    writeFileSync(join(dir, 'app.js'), script)
    const cold = new StaticFiles({ root: dir, watch: false })
    const local = await serve({ port: 0, handler: (request, response) => cold.handle(request, response) })
    try {
      const reply = await get(local.port, '/app.js', 'Accept-Encoding: br, identity;q=0\r\n')
      assert.equal(reply.status, 200)
      assert.equal(reply.headers.get('content-encoding'), 'br')
      assert.ok(decode(reply).equals(script))
    } finally {
      await local.close()
      cold.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test('each variant has its own ETag, and If-None-Match answers 304 for the variant it names', async () => {
    await warm(files, server.port, '/app.js')
    const identity = await get(server.port, '/app.js')
    const tags = new Set([identity.headers.get('etag')])
    for (const coding of CODINGS) {
      const reply = await get(server.port, '/app.js', `Accept-Encoding: ${coding}\r\n`)
      const etag = reply.headers.get('etag')!
      assert.equal(etag, `${identity.headers.get('etag')!.slice(0, -1)}-${coding}"`)
      tags.add(etag)
      const again = await get(server.port, '/app.js', `Accept-Encoding: ${coding}\r\nIf-None-Match: ${etag}\r\n`)
      assert.equal(again.status, 304, coding)
      assert.equal(again.headers.get('etag'), etag)
      assert.equal(again.headers.get('vary'), 'Accept-Encoding')
      const other = await get(server.port, '/app.js', `Accept-Encoding: ${coding}\r\nIf-None-Match: ${identity.headers.get('etag')}\r\n`)
      assert.equal(other.status, 200, 'the identity tag does not match the coded variant')
    }
    assert.equal(tags.size, CODINGS.length + 1)
  })

  test('a Range on a compressible file is served from the identity bytes; HEAD of a variant has its length and no body', async () => {
    await warm(files, server.port, '/app.js')
    const part = await get(server.port, '/app.js', `${BROWSER}Range: bytes=10-99\r\n`)
    assert.equal(part.status, 206)
    assert.equal(part.headers.has('content-encoding'), false)
    assert.equal(part.headers.get('vary'), 'Accept-Encoding')
    assert.ok(part.body.equals(script.subarray(10, 100)))
    const whole = await get(server.port, '/app.js', 'Accept-Encoding: br, identity;q=0\r\nRange: bytes=10-99\r\n')
    assert.equal(whole.status, 200, 'identity refused: the range is ignored and the variant sent whole')
    assert.equal(whole.headers.get('content-encoding'), 'br')
    assert.ok(decode(whole).equals(script))
    const br = await get(server.port, '/app.js', 'Accept-Encoding: br\r\n')
    const client = await RawClient.open(server.port)
    client.send('HEAD /app.js HTTP/1.1\r\nHost: a\r\nAccept-Encoding: br\r\n\r\n')
    const [head] = await client.replies(1, 5000, true)
    assert.equal(head!.headers.get('content-encoding'), 'br')
    assert.equal(head!.headers.get('content-length'), String(br.body.length))
    await sleep(50)
    assert.ok(client.received.toString('latin1').endsWith('\r\n\r\n'), 'HEAD: the head alone')
    client.close()
  })

  test('a precompressed sibling wins over the variant made in memory; the codings it lacks are made', async () => {
    await warm(files, server.port, '/pre.css')
    const br = await get(server.port, '/pre.css', BROWSER)
    assert.equal(br.headers.get('content-encoding'), 'br')
    assert.equal(br.body.toString(), 'pretend brotli')
    const gzip = await get(server.port, '/pre.css', 'Accept-Encoding: gzip\r\n')
    assert.equal(gzip.headers.get('content-encoding'), 'gzip')
    assert.ok(decode(gzip).equals(Buffer.alloc(4000, 'a { color: red }\n')))
  })

  test('images and files under compressBytesMin are never compressed and do not vary', async () => {
    for (const path of ['/image.png', '/small.html']) {
      await warm(files, server.port, path)
      const reply = await get(server.port, path, BROWSER)
      assert.equal(reply.headers.has('content-encoding'), false, path)
      assert.equal(reply.headers.has('vary'), false, path)
    }
  })

  test('an edited file drops its variants with it, and the new file gets its own', async () => {
    const file = join(base, 'live.json')
    const first = Buffer.from(JSON.stringify(Array.from({ length: 200 }, (_, i) => ({ first: i }))))
    const second = Buffer.from(JSON.stringify(Array.from({ length: 300 }, (_, i) => ({ second: i }))))
    writeFileSync(file, first)
    await sleep(100) // the watcher's report of the new file is in
    await warm(files, server.port, '/live.json')
    const before = await get(server.port, '/live.json', BROWSER)
    assert.equal(before.headers.get('content-encoding'), 'br')
    assert.ok(decode(before).equals(first))
    writeFileSync(file, second)
    for (let i = 0; ; i++) {
      await files.compressed()
      const reply = await get(server.port, '/live.json', BROWSER)
      if (decode(reply).equals(second) && reply.headers.get('content-encoding') === 'br') break
      assert.ok(decode(reply).equals(first) || decode(reply).equals(second), 'the old file or the new one, whole')
      assert.ok(i < 200, 'never saw the edited file compressed')
      await sleep(20)
    }
  })

  test('curl --compressed gets a compressed reply and the file', async (t) => {
    const curl = await new Promise<{ stdout: Buffer } | null>((resolve) =>
      execFile('curl', ['--compressed', '-s', '-D', '-', `http://127.0.0.1:${server.port}/app.js`], { encoding: 'buffer' }, (error, stdout) => resolve(error === null ? { stdout } : null)))
    if (curl === null) return t.skip('curl is not installed (or failed to run)')
    const text = curl.stdout.toString('latin1')
    const headEnd = text.indexOf('\r\n\r\n') + 4
    assert.match(text.slice(0, headEnd), /^content-encoding: (br|zstd|gzip)\r$/im)
    assert.ok(curl.stdout.subarray(headEnd).equals(script), 'curl decoded the file')
  })
})

describe('static compression bounds, at N and N+1', () => {
  test('cacheBytesMax counts the variants: N holds all three, N-1 leaves the last out; compressBytesMin N compresses, N+1 not; fileBytesMax N+1 holds nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wirespeed-compress-bounds-'))
    writeFileSync(join(dir, 'app.js'), script)
    const sizes = new Map<string, number>()
    const roomy = new StaticFiles({ root: dir, watch: false })
    const local = await serve({ port: 0, handler: (request, response) => roomy.handle(request, response) })
    try {
      await warm(roomy, local.port, '/app.js')
      for (const coding of CODINGS) sizes.set(coding, (await get(local.port, '/app.js', `Accept-Encoding: ${coding}\r\n`)).body.length)
      const total = script.length + CODINGS.reduce((sum, coding) => sum + sizes.get(coding)!, 0)
      assert.equal(roomy.cachedBytes, total)
      // Variants are kept in br, zstd, gzip order while they fit: one byte short, the last one is left out.
      for (const [cacheBytesMax, held, served] of [[total, total, CODINGS], [total - 1, total - sizes.get('gzip')!, CODINGS.slice(0, -1)]] as const) {
        const bounded = new StaticFiles({ root: dir, watch: false, cacheBytesMax })
        const server = await serve({ port: 0, handler: (request, response) => bounded.handle(request, response) })
        try {
          await warm(bounded, server.port, '/app.js')
          bounded.invariants()
          assert.equal(bounded.cachedBytes, held, `cacheBytesMax ${cacheBytesMax}`)
          for (const coding of CODINGS) {
            const reply = await get(server.port, '/app.js', `Accept-Encoding: ${coding}\r\n`)
            assert.equal(reply.headers.get('content-encoding'), served.includes(coding) ? coding : undefined, `${coding} with cacheBytesMax ${cacheBytesMax}`)
            assert.ok(decode(reply).equals(script))
          }
        } finally {
          await server.close()
          bounded.close()
        }
      }
      // compressBytesMin at N and N+1; and a file one byte over fileBytesMax, compressed as it streams, holds nothing.
      for (const [compressBytesMin, compressed, fileBytesMax] of [[script.length, true, undefined], [script.length + 1, false, undefined], [0, true, script.length - 1]] as const) {
        const limited = new StaticFiles({ root: dir, watch: false, compressBytesMin, fileBytesMax })
        const server = await serve({ port: 0, handler: (request, response) => limited.handle(request, response) })
        try {
          await warm(limited, server.port, '/app.js')
          assert.equal((await get(server.port, '/app.js', BROWSER)).headers.get('content-encoding'), compressed ? 'br' : undefined, `compressBytesMin ${compressBytesMin}`)
          assert.equal(limited.cachedBytes, fileBytesMax !== undefined ? 0 : compressed ? total : script.length)
        } finally {
          await server.close()
          limited.close()
        }
      }
    } finally {
      await local.close()
      roomy.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test('a cache churned by more compressible files than it holds keeps its accounting, and queues only what it holds', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wirespeed-compress-churn-'))
    for (let i = 0; i < 40; i++) writeFileSync(join(dir, `f${i}.js`), `/* file ${i} */\n${script.toString().replaceAll('a', String(i % 10))}`)
    // Room for about three files with their variants.
    const churned = new StaticFiles({ root: dir, watch: false, cacheBytesMax: 3 * script.length })
    const local = await serve({ port: 0, handler: (request, response) => churned.handle(request, response) })
    try {
      for (let round = 0; round < 2; round++) {
        await Promise.all(Array.from({ length: 40 }, async (_, i) => {
          const reply = await get(local.port, `/f${i}.js`, BROWSER)
          assert.equal(reply.status, 200)
          assert.equal(decode(reply).length, script.length + `/* file ${i} */\n`.length)
          churned.invariants()
        }))
      }
      await churned.compressed()
      churned.invariants()
      assert.ok(churned.cachedBytes <= 3 * script.length)
    } finally {
      await local.close()
      churned.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test('compress: false makes no variants and adds no Vary; a bad value is refused at start', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wirespeed-compress-off-'))
    writeFileSync(join(dir, 'app.js'), script)
    const off = new StaticFiles({ root: dir, watch: false, compress: false })
    const local = await serve({ port: 0, handler: (request, response) => off.handle(request, response) })
    try {
      await warm(off, local.port, '/app.js')
      const reply = await get(local.port, '/app.js', BROWSER)
      assert.equal(reply.headers.has('content-encoding'), false)
      assert.equal(reply.headers.has('vary'), false)
      assert.equal(off.cachedBytes, script.length)
    } finally {
      await local.close()
      off.close()
      rmSync(dir, { recursive: true, force: true })
    }
    assert.throws(() => new StaticFiles({ root: base, watch: false, compress: 'yes' as never }), /^TypeError: Invalid option static\.compress: expected true or false, got string$/)
    assert.throws(() => new StaticFiles({ root: base, watch: false, compressBytesMin: -1 }), /^RangeError: Invalid option compressBytesMin: expected an integer from 0 to/)
  })
})

/** Descriptors this process holds open on `file` (Linux: /proc/self/fd; elsewhere 0, the check is skipped). */
function openDescriptors(file: string): number {
  if (process.platform !== 'linux') return 0
  let count = 0
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) === file) count++
    } catch {}
  }
  return count
}

describe('static compression of files too large to hold', () => {
  // 3 MiB of varied text, held back by fileBytesMax 1 MiB: it streams, compressed on the fly.
  const lines = Array.from({ length: 60_000 }, (_, i) => `line ${i}: ${(i * 2654435761) % 1000003} ${i % 7 === 0 ? 'seven' : 'other'}\n`).join('')
  const large = Buffer.from(lines.repeat(Math.ceil((3 << 20) / lines.length))).subarray(0, 3 << 20)
  let dir: string
  let streaming: Server

  // Random letters compress to about 60%: 24 MiB makes more than the loopback socket buffers take.
  const letters = Buffer.from(randomBytes(24 << 20).map((byte) => 97 + (byte % 26)))

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wirespeed-compress-stream-'))
    writeFileSync(join(dir, 'bundle.js'), large)
    writeFileSync(join(dir, 'letters.txt'), letters)
    streaming = await serve({ port: 0, static: { root: dir, fileBytesMax: 1 << 20, watch: false } })
  })

  after(async () => {
    await streaming.close()
    rmSync(dir, { recursive: true, force: true })
  })

  test('each coding streams chunked and decodes to the file; identity keeps its length; a Range gets identity bytes', async () => {
    for (const coding of CODINGS) {
      const client = await RawClient.open(streaming.port)
      client.send(`GET /bundle.js HTTP/1.1\r\nHost: a\r\nAccept-Encoding: ${coding}\r\n\r\n`)
      const [reply] = await client.replies(1, 30_000)
      client.close()
      assert.equal(reply!.headers.get('content-encoding'), coding)
      assert.equal(reply!.headers.get('transfer-encoding'), 'chunked')
      assert.equal(reply!.headers.get('vary'), 'Accept-Encoding')
      assert.match(reply!.headers.get('etag')!, new RegExp(`-${coding}"$`))
      assert.ok(reply!.body.length < large.length / 3, `${reply!.body.length} bytes of ${coding}`)
      assert.ok(decode(reply!).equals(large), coding)
    }
    const client = await RawClient.open(streaming.port)
    client.send('GET /bundle.js HTTP/1.1\r\nHost: a\r\n\r\nGET /bundle.js HTTP/1.1\r\nHost: a\r\nAccept-Encoding: br\r\nRange: bytes=100-199\r\n\r\nGET /bundle.js HTTP/1.1\r\nHost: a\r\nAccept-Encoding: gzip\r\n\r\n')
    const [plain, part, gzip] = await client.replies(3, 30_000)
    client.close()
    assert.equal(plain!.headers.get('content-length'), String(large.length))
    assert.equal(plain!.headers.get('vary'), 'Accept-Encoding')
    assert.ok(plain!.body.equals(large))
    assert.equal(part!.status, 206)
    assert.ok(part!.body.equals(large.subarray(100, 200)))
    assert.ok(decode(gzip!).equals(large), 'pipelined after the others')
    const head = await RawClient.open(streaming.port)
    head.send('HEAD /bundle.js HTTP/1.1\r\nHost: a\r\nAccept-Encoding: br\r\n\r\n')
    const [headReply] = await head.replies(1, 5000, true)
    assert.equal(headReply!.headers.get('content-encoding'), 'br')
    await sleep(50)
    assert.ok(head.received.toString('latin1').endsWith('\r\n\r\n'), 'HEAD: the head alone')
    head.close()
    await eventually(() => openDescriptors(join(dir, 'bundle.js')) === 0, 'every descriptor of bundle.js closed')
  })

  test('HTTP/1.0: without chunked coding the compressed body ends with the connection', async () => {
    const client = await RawClient.open(streaming.port)
    client.send('GET /bundle.js HTTP/1.0\r\nAccept-Encoding: gzip\r\n\r\n')
    await client.waitForClose(30_000)
    const headEnd = client.received.indexOf('\r\n\r\n') + 4
    const head = client.received.subarray(0, headEnd).toString('latin1')
    assert.match(head, /^content-encoding: gzip\r$/im)
    assert.match(head, /^connection: close\r$/im)
    assert.doesNotMatch(head, /^(content-length|transfer-encoding):/im)
    assert.ok(zlib.gunzipSync(client.received.subarray(headEnd)).equals(large))
  })

  test('a reader that does not read holds the server to a bounded amount; one that leaves closes the file', async () => {
    const client = await RawClient.open(streaming.port)
    client.socket.pause()
    collectGarbage()
    const before = process.memoryUsage().arrayBuffers
    client.send('GET /letters.txt HTTP/1.1\r\nHost: a\r\nAccept-Encoding: gzip\r\n\r\n')
    await eventually(() => openDescriptors(join(dir, 'letters.txt')) === 1 || process.platform !== 'linux', 'the file open while it is sent')
    await sleep(500)
    collectGarbage()
    const held = process.memoryUsage().arrayBuffers - before
    assert.ok(held < 8 * 1024 * 1024, `the server holds ${held} bytes of a ${letters.length}-byte file for a reader that does not read`)
    assert.equal(openDescriptors(join(dir, 'letters.txt')), process.platform === 'linux' ? 1 : 0, 'still sending: the file is open')
    client.socket.resume()
    await client.waitFor(() => client.received.length > 1000, 10_000, 'the first bytes')
    client.socket.destroy()
    await eventually(() => openDescriptors(join(dir, 'letters.txt')) === 0, 'the descriptor of letters.txt closed after the client left')
    const after = await RawClient.open(streaming.port)
    after.send('GET /bundle.js HTTP/1.1\r\nHost: a\r\nAccept-Encoding: br\r\n\r\n')
    const [reply] = await after.replies(1, 30_000)
    after.close()
    assert.ok(decode(reply!).equals(large), 'and the server serves on')
  })

  test('compressStreamsMax: N streams at once; request N+1 gets the file as it is, or 503 when it refuses identity', async () => {
    const files = new StaticFiles({ root: dir, fileBytesMax: 1 << 20, watch: false, compressStreamsMax: 1 })
    const local = await serve({ port: 0, handler: (request, response) => files.handle(request, response) })
    const heads = async (headers: string) => {
      const client = await RawClient.open(local.port)
      client.send(`GET /letters.txt HTTP/1.1\r\nHost: a\r\n${headers}\r\n`)
      const [reply] = await client.replies(1, 10_000, true)
      client.close()
      return reply!
    }
    try {
      const holder = await RawClient.open(local.port)
      holder.socket.pause()
      holder.send('GET /letters.txt HTTP/1.1\r\nHost: a\r\nAccept-Encoding: gzip\r\n\r\n')
      await eventually(() => openDescriptors(join(dir, 'letters.txt')) === 1 || process.platform !== 'linux', 'the first stream under way')
      if (process.platform !== 'linux') await sleep(300)
      const second = await heads('Accept-Encoding: gzip\r\n')
      assert.equal(second.status, 200)
      assert.equal(second.headers.has('content-encoding'), false, 'N+1: as it is')
      assert.equal(second.headers.get('content-length'), String(letters.length))
      assert.equal(second.headers.get('vary'), 'Accept-Encoding')
      const refused = await heads('Accept-Encoding: gzip, identity;q=0\r\n')
      assert.equal(refused.status, 503)
      assert.equal(refused.headers.get('retry-after'), '1')
      holder.socket.destroy()
      await eventually(() => openDescriptors(join(dir, 'letters.txt')) === 0, 'the first stream ended')
      // (The stream's end reaches the server a turn after the descriptor closes: look until a stream is free.)
      for (let i = 0; ; i++) {
        const third = await heads('Accept-Encoding: gzip\r\n')
        if (third.headers.get('content-encoding') === 'gzip') break
        assert.ok(i < 100, 'the stream never came free')
        await sleep(20)
      }
    } finally {
      await local.close()
      files.close()
    }
    const none = new StaticFiles({ root: dir, fileBytesMax: 1 << 20, watch: false, compressStreamsMax: 0 })
    const off = await serve({ port: 0, handler: (request, response) => none.handle(request, response) })
    try {
      const client = await RawClient.open(off.port)
      client.send('GET /bundle.js HTTP/1.1\r\nHost: a\r\nAccept-Encoding: br\r\n\r\n')
      const [reply] = await client.replies(1, 10_000)
      client.close()
      assert.equal(reply!.headers.has('content-encoding'), false, 'compressStreamsMax 0: never on the fly')
      assert.ok(reply!.body.equals(large))
    } finally {
      await off.close()
      none.close()
    }
  })
})

async function eventually(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 250; i++) {
    if (check()) return
    await sleep(20)
  }
  assert.fail(`Never saw ${what}`)
}

/** Copies of cached bodies this process holds in memory for sendfile(2) (src/static/memory-file.ts). */
function memoryCopies(): number {
  if (process.platform !== 'linux') return 0
  let count = 0
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`).startsWith(`/dev/shm/.wirespeed-${process.pid}-`)) count++
    } catch {}
  }
  return count
}

describe('static compression on the epoll transport', () => {
  test('a variant above 16 KiB leaves by sendfile from its own copy in memory, counted in the cache, closed with the file', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'wirespeed-compress-copy-'))
    // Random letters: compressible text that stays above 16 KiB once compressed (to about 60%).
    const text = Buffer.from(randomBytes(96 * 1024).map((byte) => 97 + (byte % 26)))
    writeFileSync(join(dir, 'data.txt'), text)
    const copying = new StaticFiles({ root: dir, watch: false })
    await copying.ready()
    const local = await serve({ port: 0, handler: (request, response) => copying.handle(request, response) })
    try {
      if (local.backend !== 'epoll' || process.platform !== 'linux') return t.skip('sendfile from memory is the epoll transport\'s (Linux)')
      const initial = memoryCopies()
      await warm(copying, local.port, '/data.txt') // (the identity reply, 96 KiB, made a copy of its own)
      const before = memoryCopies()
      assert.equal(before - initial, 1)
      const held = copying.cachedBytes
      const br = await get(local.port, '/data.txt', 'Accept-Encoding: br\r\n')
      assert.equal(br.headers.get('content-encoding'), 'br')
      assert.ok(br.body.length > 16 * 1024, `${br.body.length} bytes of brotli`)
      assert.ok(decode(br).equals(text))
      assert.equal(memoryCopies() - before, 1, 'one copy: the brotli variant')
      assert.equal(copying.cachedBytes, held + br.body.length, 'the copy counts in the cache')
      const again = await get(local.port, '/data.txt', 'Accept-Encoding: br\r\n')
      assert.ok(again.body.equals(br.body))
      assert.equal(memoryCopies() - before, 1, 'the same copy serves the next request')
      await get(local.port, '/data.txt', 'Accept-Encoding: gzip\r\n')
      assert.equal(memoryCopies() - before, 2, 'gzip has its own')
      copying.close()
      assert.equal(memoryCopies(), initial, 'close() closes the copies')
    } finally {
      await local.close()
      copying.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
