import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { serve, StaticFiles, type Server } from '../../src/index.ts'
import { assertNoOpenHandles, exchange, RawClient, type Reply } from '../helpers/raw-client.ts'

const base = mkdtempSync(join(tmpdir(), 'wirespeed-site-'))
const NAVIGATION = 'Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n'
let spa: Server
let clean: Server
let plain: Server

before(async () => {
  mkdirSync(join(base, 'assets'))
  mkdirSync(join(base, 'docs'))
  mkdirSync(join(base, 'guide'))
  writeFileSync(join(base, 'index.html'), '<div id=app></div>')
  writeFileSync(join(base, 'assets', 'app.js'), 'app()')
  writeFileSync(join(base, 'about.html'), '<h1>about</h1>')
  writeFileSync(join(base, 'docs', 'index.html'), '<h1>docs</h1>')
  writeFileSync(join(base, 'guide.html'), '<h1>guide</h1>')
  writeFileSync(join(base, 'guide', 'start.html'), '<h1>start</h1>')
  spa = await serve({ port: 0, static: { root: base, spa: true, debounceMs: 10 } })
  clean = await serve({ port: 0, static: { root: base, cleanUrls: true, debounceMs: 10 } })
  plain = await serve({ port: 0, static: { root: base, watch: false } })
})

after(async () => {
  await spa.close()
  await clean.close()
  await plain.close()
  rmSync(base, { recursive: true, force: true })
  await assertNoOpenHandles()
})

async function get(server: Server, path: string, headers = '', method = 'GET'): Promise<Reply> {
  const { replies, client } = await exchange(server.port, `${method} ${path} HTTP/1.1\r\nHost: a\r\n${headers}\r\n`)
  client.close()
  return replies[0]!
}

async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return
    await sleep(20)
  }
  assert.fail(`Never saw ${what}`)
}

describe('static spa', () => {
  test('a deep link a browser navigates to gets index.html; files are served as they are', async () => {
    for (const [path, headers] of [['/users/42', NAVIGATION], ['/settings', ''], ['/a/b/c?tab=2', 'Accept: */*\r\n']] as const) {
      const reply = await get(spa, path, headers)
      assert.equal(reply.status, 200, path)
      assert.equal(reply.body.toString(), '<div id=app></div>', path)
      assert.equal(reply.headers.get('content-type'), 'text/html; charset=utf-8')
      assert.equal(reply.headers.get('vary'), 'Accept', 'a deep link\'s answer depends on Accept')
    }
    assert.equal((await get(spa, '/')).headers.has('vary'), false, 'index.html at / does not')
    const client = await RawClient.open(spa.port)
    client.send(`HEAD /users/42 HTTP/1.1\r\nHost: a\r\n${NAVIGATION}\r\n`)
    const [head] = await client.replies(1, 5000, true)
    client.close()
    assert.equal(head!.status, 200)
    assert.equal(head!.headers.get('content-length'), '18')
    assert.equal((await get(spa, '/assets/app.js', NAVIGATION)).body.toString(), 'app()')
    assert.equal((await get(spa, '/about.html')).body.toString(), '<h1>about</h1>')
    const etag = (await get(spa, '/')).headers.get('etag')!
    assert.equal((await get(spa, '/users/42', `${NAVIGATION}If-None-Match: ${etag}\r\n`)).status, 304)
  })

  test('a missing file with an extension, and a request that does not take HTML, still get 404', async () => {
    assert.equal((await get(spa, '/assets/missing.js', NAVIGATION)).status, 404)
    assert.equal((await get(spa, '/favicon.ico', NAVIGATION)).status, 404)
    assert.equal((await get(spa, '/api/users', 'Accept: application/json\r\n')).status, 404)
    assert.equal((await get(plain, '/users/42', NAVIGATION)).status, 404, 'without spa')
    assert.equal((await get(spa, '/users/42', 'Content-Length: 0\r\n', 'POST')).status, 405)
  })

  test('with a handler behind the files, the handler gets what does not want HTML, the app gets the rest', async () => {
    const files = new StaticFiles({ root: base, spa: true, watch: false })
    const local = await serve({ port: 0, handler: (request, response) => files.handle(request, response, (_, reply) => reply.json({ api: true })) })
    try {
      assert.equal((await get(local, '/api/users', 'Accept: application/json\r\n')).body.toString(), '{"api":true}')
      assert.equal((await get(local, '/users/42', NAVIGATION)).body.toString(), '<div id=app></div>')
      assert.equal((await get(local, '/missing.js', NAVIGATION)).body.toString(), '{"api":true}')
    } finally {
      await local.close()
      files.close()
    }
  })

  test('an edited index.html reaches the deep links; without one they are 404', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wirespeed-spa-edit-'))
    writeFileSync(join(dir, 'index.html'), 'v1')
    const local = await serve({ port: 0, static: { root: dir, spa: true, debounceMs: 10 } })
    try {
      assert.equal((await get(local, '/deep/link', NAVIGATION)).body.toString(), 'v1')
      writeFileSync(join(dir, 'index.html'), 'version 2')
      await eventually(async () => (await get(local, '/deep/link', NAVIGATION)).body.toString() === 'version 2', 'the edited index.html')
      unlinkSync(join(dir, 'index.html'))
      await eventually(async () => (await get(local, '/deep/link', NAVIGATION)).status === 404, 'the 404 once index.html is gone')
    } finally {
      await local.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('static cleanUrls', () => {
  test('/about serves about.html, before a folder of the same name', async () => {
    const about = await get(clean, '/about')
    assert.equal(about.status, 200)
    assert.equal(about.body.toString(), '<h1>about</h1>')
    assert.equal(about.headers.get('content-type'), 'text/html; charset=utf-8')
    assert.equal((await get(clean, '/guide')).body.toString(), '<h1>guide</h1>')
    assert.equal((await get(clean, '/guide/start')).body.toString(), '<h1>start</h1>')
    assert.equal((await get(clean, '/docs/')).body.toString(), '<h1>docs</h1>')
    assert.equal((await get(clean, '/docs')).status, 301, 'a folder without its slash still redirects')
    assert.equal((await get(clean, '/nope')).status, 404)
  })

  test('/about.html redirects to /about keeping the query, and index.html to its folder', async () => {
    for (const [path, location] of [['/about.html', '/about'], ['/about.html?x=1', '/about?x=1'], ['/docs/index.html', '/docs/'], ['/index.html', '/'], ['/guide/start.html', '/guide/start']]) {
      const reply = await get(clean, path)
      assert.equal(reply.status, 301, path)
      assert.equal(reply.headers.get('location'), location, path)
    }
    assert.equal((await get(clean, '/missing.html')).status, 404)
  })

  test('without cleanUrls, /about is 404 and /about.html is served', async () => {
    assert.equal((await get(plain, '/about')).status, 404)
    assert.equal((await get(plain, '/about.html')).body.toString(), '<h1>about</h1>')
  })

  test('a file created at the clean path takes over from the .html file', async () => {
    assert.equal((await get(clean, '/about')).body.toString(), '<h1>about</h1>')
    writeFileSync(join(base, 'about'), 'plain about')
    try {
      await eventually(async () => (await get(clean, '/about')).body.toString() === 'plain about', 'the new file served at /about')
    } finally {
      unlinkSync(join(base, 'about'))
    }
  })

  test('spa and cleanUrls refuse a value that is not a boolean', () => {
    assert.throws(() => new StaticFiles({ root: base, watch: false, spa: 'yes' as never }), /^TypeError: Invalid option static\.spa: expected true or false, got string$/)
    assert.throws(() => new StaticFiles({ root: base, watch: false, cleanUrls: 1 as never }), /^TypeError: Invalid option static\.cleanUrls: expected true or false, got number$/)
  })
})

describe('static redirects stay on this server', () => {
  test('a path that starts with // redirects to a path, never to another host', async () => {
    mkdirSync(join(base, 'example.com'), { recursive: true })
    writeFileSync(join(base, 'example.com', 'page.html'), 'page')
    try {
      for (const [server, path, location] of [[clean, '//example.com/page.html', '/example.com/page'], [plain, '//example.com', '/example.com/'], [clean, '///example.com/page.html?q', '/example.com/page?q']] as const) {
        const reply = await get(server, path)
        assert.equal(reply.status, 301, path)
        assert.equal(reply.headers.get('location'), location, path)
      }
    } finally {
      rmSync(join(base, 'example.com'), { recursive: true, force: true })
    }
  })
})
