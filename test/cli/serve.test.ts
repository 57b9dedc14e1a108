import assert from 'node:assert/strict'
import { execFile, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { connect, createServer } from 'node:net'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { getOnce } from '../../bench/lib/measure.ts'
import { untilPrinted } from '../helpers/child.ts'
import { RawClient } from '../helpers/raw-client.ts'

const root = fileURLToPath(new URL('../../', import.meta.url))
const site = mkdtempSync(join(tmpdir(), 'wirespeed-cli-'))
writeFileSync(join(site, 'index.html'), 'cli site')
after(() => rmSync(site, { recursive: true, force: true }))

/** The line `wirespeed serve` prints once it listens (after any line about workers). */
const URL_LINE = /http:\/\/127\.0\.0\.1:(\d+)\/.*\n/

/** Resolves once `port` refuses a new connection: the server has stopped listening. */
async function refused(port: number, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const refusedNow = await new Promise<boolean>((resolve) => {
      const socket = connect({ port, host: '127.0.0.1' })
      socket.once('connect', () => (socket.destroy(), resolve(false)))
      socket.once('error', () => resolve(true))
    })
    if (refusedNow) return
    if (Date.now() > deadline) throw new Error(`Port ${port} still accepts connections after ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

function wirespeed(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['bin/wirespeed.js', ...args], { cwd: root, timeout: 30_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    )
  })
}

test('wirespeed serve serves a folder, prints its URL, and exits 0 on SIGTERM', async () => {
  const child = spawn(process.execPath, ['bin/wirespeed.js', 'serve', site, '--port', '0'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve))
  const out = await untilPrinted(child, URL_LINE)
  const port = Number(URL_LINE.exec(out)?.[1])
  assert.ok(port > 0, `no URL printed: ${out}`)
  const answer = await getOnce(port)
  assert.equal(answer.status, 200)
  assert.equal(answer.body, 'cli site')
  child.kill('SIGTERM')
  assert.equal(await exited, 0)
})

test('wirespeed serve --workers 2: SIGTERM during a slow download lets it finish, then the process exits', async () => {
  const big = Buffer.alloc(8 * 1024 * 1024, 'slow download ')
  writeFileSync(join(site, 'big.bin'), big)
  const child = spawn(process.execPath, ['bin/wirespeed.js', 'serve', site, '--port', '0', '--workers', '2'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve))
  const out = await untilPrinted(child, URL_LINE)
  // No more worker threads than cores: a process pinned to one core serves on one event loop, and says so.
  assert.match(out, availableParallelism() >= 2 ? /serving with 2 worker threads \(reusePort\)/ : /serving on one event loop/)
  const port = Number(URL_LINE.exec(out)?.[1])
  const client = await RawClient.open(port)
  client.send('GET /big.bin HTTP/1.1\r\nHost: a\r\n\r\n')
  // The download is under way once its first bytes are in; reading then stops, so it cannot end before the
  // SIGTERM (8 MiB is more than loopback buffers), and resumes once the port is closed: the shutdown began.
  await client.waitFor(() => client.received.length > 0, 30_000, 'the first bytes of the download')
  client.socket.pause()
  child.kill('SIGTERM')
  await refused(port)
  assert.ok(client.received.length < big.length, 'the download was still in flight when the shutdown began')
  client.socket.resume()
  const [reply] = await client.replies(1, 20_000)
  assert.equal(reply!.body.length, big.length)
  assert.equal(await exited, 0)
  client.close()
})

test('wirespeed serve serves the bundled page without a folder', async () => {
  const child = spawn(process.execPath, ['bin/wirespeed.js', 'serve', '--port', '0'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve))
  const out = await untilPrinted(child, URL_LINE)
  const port = Number(URL_LINE.exec(out)?.[1])
  const answer = await getOnce(port)
  assert.equal(answer.status, 200)
  assert.match(answer.body, /<h1>wirespeed<\/h1>/)
  child.kill('SIGINT')
  assert.equal(await exited, 0)
})

test('wirespeed serve says what to do about a missing folder, a bad port and a port in use, and exits 2', async () => {
  const missing = await wirespeed(['serve', join(site, 'nope')])
  assert.equal(missing.code, 2)
  assert.match(missing.stderr, /^wirespeed serve: Folder .*nope does not exist: pass a folder to serve\n$/)
  const badPort = await wirespeed(['serve', site, '--port', '70000'])
  assert.equal(badPort.code, 2)
  assert.match(badPort.stderr, /Invalid --port "70000": expected an integer from 0 to 65535/)
  const holder = createServer()
  await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve))
  const { port } = holder.address() as { port: number }
  const inUse = await wirespeed(['serve', site, '--port', String(port)])
  holder.close()
  assert.equal(inUse.code, 2)
  assert.match(inUse.stderr, /the port is in use; pick another with --port/)
})

test('wirespeed watch reports a missing path with exit code 2', async () => {
  const result = await wirespeed(['watch', join(site, 'nope')])
  assert.equal(result.code, 2)
  assert.match(result.stderr, /Cannot watch .*nope: it does not exist/)
})

test('the page npm start serves quotes no benchmark figure that could go stale, and names only result files that exist', () => {
  const page = readFileSync(join(root, 'public', 'index.html'), 'utf8')
  assert.doesNotMatch(page, /\d{1,3}(,\d{3})+|\d\s*(µs|req\/s)|<table/, 'figures belong in bench/results/, which the page points to')
  // It does not name one transport as the one serving it: that is chosen at start, and the start line says which.
  assert.match(page, /epoll/)
  assert.match(page, /node:net/)
  const named = [...page.matchAll(/<code>([a-z]+\.md)<\/code>/g)].map((match) => match[1]!)
  assert.ok(named.length >= 7, `names the result files (${named.join(', ')})`)
  for (const file of named) assert.ok(existsSync(join(root, 'bench', 'results', file)), `bench/results/${file} exists`)
})

test('wirespeed serve --spa --clean-urls answers deep links and clean paths; --no-compress turns compression off', async () => {
  const app = mkdtempSync(join(tmpdir(), 'wirespeed-cli-spa-'))
  writeFileSync(join(app, 'index.html'), 'the app')
  writeFileSync(join(app, 'about.html'), 'about')
  writeFileSync(join(app, 'app.js'), 'console.log("app")\n'.repeat(200))
  const request = async (port: number, path: string, headers = '') => {
    const client = await RawClient.open(port)
    client.send(`GET ${path} HTTP/1.1\r\nHost: a\r\n${headers}\r\n`)
    const [reply] = await client.replies(1, 10_000)
    client.close()
    return reply!
  }
  try {
    for (const flags of [['--spa', '--clean-urls'], ['--no-compress']]) {
      const child = spawn(process.execPath, ['bin/wirespeed.js', 'serve', app, '--port', '0', ...flags], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
      const exited = new Promise<number | null>((resolve) => child.on('exit', resolve))
      const port = Number(URL_LINE.exec(await untilPrinted(child, URL_LINE))?.[1])
      const deep = await request(port, '/users/42', 'Accept: text/html\r\n')
      const clean = await request(port, '/about')
      // A compressible file says Vary from its first reply when compression is on (its variants are made after it).
      const script = await request(port, '/app.js', 'Accept-Encoding: br, gzip\r\n')
      if (flags.includes('--spa')) {
        assert.equal(deep.body.toString(), 'the app')
        assert.equal(clean.body.toString(), 'about')
        assert.equal(script.headers.get('vary'), 'Accept-Encoding')
      } else {
        assert.equal(deep.status, 404)
        assert.equal(clean.status, 404)
        assert.equal(script.headers.has('vary'), false)
        assert.equal(script.headers.has('content-encoding'), false)
      }
      child.kill('SIGTERM')
      assert.equal(await exited, 0)
    }
  } finally {
    rmSync(app, { recursive: true, force: true })
  }
})

test('wirespeed serve --help lists every flag the parser takes, and the README\'s serve section lists the same', async () => {
  const { HELP, FLAGS } = await import('../../src/cli/serve.ts')
  const flags = Object.keys(FLAGS).map((name) => `--${name}`).sort()
  const inHelp = [...new Set(HELP.match(/^ {2}--[a-z-]+/gm)!.map((flag) => flag.trim()))].sort()
  assert.deepEqual(inHelp, flags)
  const readme = readFileSync(join(root, 'README.md'), 'utf8')
  const section = readme.slice(readme.indexOf('### `wirespeed serve [dir] [options]`'))
  const table = section.slice(0, section.indexOf('\n\n', section.indexOf('| Flag |')))
  const inReadme = [...table.matchAll(/^\| `(--[a-z-]+)/gm)].map((match) => match[1]).sort()
  assert.deepEqual(inReadme, flags)
  const { stdout, code } = await wirespeed(['serve', '--help'])
  assert.equal(code, 0)
  assert.equal(stdout, HELP)
})

test('wirespeed serve: --browse, --cors, --header, --immutable, --cache-control, --trailing-slash, --not-found', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wirespeed-cli-flags-'))
  const { mkdirSync } = await import('node:fs')
  mkdirSync(join(dir, 'files'))
  mkdirSync(join(dir, 'docs'))
  writeFileSync(join(dir, 'files', 'a.txt'), 'a')
  writeFileSync(join(dir, 'docs', 'index.html'), 'docs')
  writeFileSync(join(dir, 'index-BzXqL3aK.js'), 'app()')
  writeFileSync(join(dir, 'oops.html'), 'no such page')
  const request = async (port: number, path: string, headers = '', method = 'GET') => {
    const client = await RawClient.open(port)
    client.send(`${method} ${path} HTTP/1.1\r\nHost: a\r\n${headers}\r\n`)
    const [reply] = await client.replies(1, 10_000)
    client.close()
    return reply!
  }
  const args = ['--browse', '--cors', '--header', 'X-Frame-Options: DENY', '--header', 'X-Two: 2', '--immutable', '--cache-control', 'max-age=60', '--trailing-slash', 'remove', '--not-found', 'oops.html']
  const child = spawn(process.execPath, ['bin/wirespeed.js', 'serve', dir, '--port', '0', ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve))
  try {
    const port = Number(URL_LINE.exec(await untilPrinted(child, URL_LINE))?.[1])
    const listing = await request(port, '/files', 'Accept: application/json\r\n')
    assert.equal(JSON.parse(listing.body.toString()).entries[0].name, 'a.txt')
    assert.equal(listing.headers.get('access-control-allow-origin'), '*')
    const script = await request(port, '/index-BzXqL3aK.js')
    assert.equal(script.headers.get('cache-control'), 'public, max-age=31536000, immutable')
    assert.equal(script.headers.get('x-frame-options'), 'DENY')
    assert.equal(script.headers.get('x-two'), '2')
    assert.equal((await request(port, '/docs')).body.toString(), 'docs')
    assert.equal((await request(port, '/docs')).headers.get('cache-control'), 'max-age=60')
    assert.equal((await request(port, '/docs/')).headers.get('location'), '/docs')
    const missing = await request(port, '/missing')
    assert.equal(missing.status, 404)
    assert.equal(missing.body.toString(), 'no such page')
    const preflight = await request(port, '/docs', 'Access-Control-Request-Method: GET\r\n', 'OPTIONS')
    assert.equal(preflight.status, 204)
    assert.equal(preflight.headers.get('access-control-allow-methods'), 'GET, HEAD, OPTIONS')
  } finally {
    child.kill('SIGTERM')
    assert.equal(await exited, 0)
    rmSync(dir, { recursive: true, force: true })
  }
  for (const [flags, message] of [[['--header', 'X Y: z'], /Invalid header name "X Y" in --header/], [['--trailing-slash', 'yes'], /Invalid --trailing-slash "yes": expected add or remove/], [['--header', 'nocolon'], /Invalid --header: .*expected "Name: value"/], [['--cors-origin', ''], /Invalid --cors-origin/]] as const) {
    const { code, stderr } = await wirespeed(['serve', site, '--port', '0', ...flags])
    assert.equal(code, 2, stderr)
    assert.match(stderr, message)
  }
})

test('wirespeed serve reads the folder\'s serve.json (or --config), flags over it; --print-config shows it; a bad key stops it, named', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wirespeed-cli-config-'))
  const { mkdirSync } = await import('node:fs')
  mkdirSync(join(dir, 'dist'))
  writeFileSync(join(dir, 'dist', 'index.html'), 'the app')
  writeFileSync(join(dir, 'dist', 'model.glb'), 'glb')
  writeFileSync(join(dir, 'serve.json'), JSON.stringify({ public: 'dist', rewrites: [{ source: '**', destination: '/index.html' }], redirects: [{ source: '/old', destination: '/', type: 308 }], headers: [{ source: '**/*.glb', headers: [{ key: 'X-Model', value: '1' }] }] }))
  try {
    const printed = await wirespeed(['serve', dir, '--print-config', '--cors', '--mime', 'glb=model/gltf-binary', '--port', '0'])
    assert.equal(printed.code, 0, printed.stderr)
    const shown = JSON.parse(printed.stdout)
    assert.equal(shown.config, join(dir, 'serve.json'))
    assert.equal(shown.static.root, join(dir, 'dist'))
    assert.equal(shown.static.cors, true)
    assert.equal(shown.static.cacheControl, 'no-cache', 'a default, shown')
    assert.deepEqual(shown.static.mimeTypes, { glb: 'model/gltf-binary' })
    assert.equal(shown.static.redirects[0].type, 308)
    const child = spawn(process.execPath, ['bin/wirespeed.js', 'serve', dir, '--port', '0', '--mime', 'glb=model/gltf-binary'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve))
    try {
      const port = Number(URL_LINE.exec(await untilPrinted(child, URL_LINE))?.[1])
      const request = async (path: string) => {
        const client = await RawClient.open(port)
        client.send(`GET ${path} HTTP/1.1\r\nHost: a\r\n\r\n`)
        const [reply] = await client.replies(1, 10_000)
        client.close()
        return reply!
      }
      assert.equal((await request('/deep/link')).body.toString(), 'the app')
      assert.equal((await request('/old')).status, 308)
      const model = await request('/model.glb')
      assert.equal(model.headers.get('content-type'), 'model/gltf-binary')
      assert.equal(model.headers.get('x-model'), '1')
    } finally {
      child.kill('SIGTERM')
      assert.equal(await exited, 0)
    }
    writeFileSync(join(dir, 'other.json'), JSON.stringify({ public: 'dist', renderSingle: true }))
    const bad = await wirespeed(['serve', dir, '--config', join(dir, 'other.json'), '--port', '0'])
    assert.equal(bad.code, 2)
    assert.match(bad.stderr, /Unknown key renderSingle in .*other\.json/)
    const missing = await wirespeed(['serve', dir, '--config', join(dir, 'none.json'), '--port', '0'])
    assert.equal(missing.code, 2)
    assert.match(missing.stderr, /Config file .*none\.json does not exist/)
    const mime = await wirespeed(['serve', dir, '--mime', 'glb', '--port', '0'])
    assert.match(mime.stderr, /Invalid --mime "glb": expected EXT=TYPE/)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
