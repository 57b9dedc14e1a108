import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { readSiteConfig, serve, siteConfig, StaticFiles, type Server } from '../../src/index.ts'
import { assertNoOpenHandles, exchange, type Reply } from '../helpers/raw-client.ts'

const base = mkdtempSync(join(tmpdir(), 'wirespeed-config-'))
const site = join(base, 'dist')
let server: Server

/** serve.json as `serve`'s documentation writes it (serve-handler's README), with a public folder. */
const SERVE_JSON = {
  public: 'dist',
  cleanUrls: true,
  trailingSlash: false,
  rewrites: [
    { source: 'app/**', destination: '/index.html' },
    { source: 'projects/*/edit', destination: '/edit-project.html' },
    { source: '/projects/:id/view', destination: '/view-:id.html' },
  ],
  redirects: [
    { source: '/from', destination: '/to' },
    { source: '/old-docs/**', destination: '/docs', type: 302 },
    { source: '/user/:id', destination: '/profile/:id', type: 307 },
  ],
  headers: [
    { source: '**/*.@(jpg|jpeg|gif|png)', headers: [{ key: 'Cache-Control', value: 'max-age=7200' }] },
    { source: '404.html', headers: [{ key: 'Cache-Control', value: 'max-age=300' }] },
    { source: '!**/*.png', headers: [{ key: 'X-Not-Png', value: 'yes' }] },
  ],
  directoryListing: true,
  unlisted: ['secret.txt'],
}

before(async () => {
  mkdirSync(join(site, 'files'), { recursive: true })
  writeFileSync(join(site, 'index.html'), 'the app')
  writeFileSync(join(site, 'edit-project.html'), 'edit')
  writeFileSync(join(site, 'view-42.html'), 'view 42')
  writeFileSync(join(site, 'logo.png'), 'png')
  writeFileSync(join(site, 'files', 'a.txt'), 'a')
  writeFileSync(join(site, 'files', 'secret.txt'), 's')
  writeFileSync(join(base, 'serve.json'), JSON.stringify(SERVE_JSON))
  server = await serve({ port: 0, static: { ...readSiteConfig(join(base, 'serve.json')), watch: false } })
})

after(async () => {
  await server.close()
  rmSync(base, { recursive: true, force: true })
  await assertNoOpenHandles()
})

async function get(path: string, headers = ''): Promise<Reply> {
  const { replies, client } = await exchange(server.port, `GET ${path} HTTP/1.1\r\nHost: a\r\n${headers}\r\n`)
  client.close()
  return replies[0]!
}

describe('serve.json from serve\'s documentation', () => {
  test('public is the root, beside the file', () => {
    assert.equal(readSiteConfig(join(base, 'serve.json')).root, site)
  })

  test('rewrites answer paths with no file, :name filled in; a file is served as it is', async () => {
    assert.equal((await get('/app/settings/profile')).body.toString(), 'the app')
    assert.equal((await get('/projects/7/edit')).body.toString(), 'edit')
    assert.equal((await get('/projects/42/view')).body.toString(), 'view 42')
    assert.equal((await get('/projects/43/view')).status, 404, 'a destination with no file')
    assert.equal((await get('/logo.png')).body.toString(), 'png')
  })

  test('redirects with their status, :name filled in (encoded again), the query kept', async () => {
    for (const [path, status, location] of [['/from', 301, '/to'], ['/from?a=1', 301, '/to?a=1'], ['/old-docs/x/y', 302, '/docs'], ['/user/ann', 307, '/profile/ann'], ['/user/a%0d%0ab', 307, '/profile/a%0D%0Ab']] as const) {
      const reply = await get(path)
      assert.equal(reply.status, status, path)
      assert.equal(reply.headers.get('location'), location, path)
    }
  })

  test('headers by glob of the file\'s path, ! included', async () => {
    const png = await get('/logo.png')
    assert.equal(png.headers.get('cache-control'), 'max-age=7200', 'the rule\'s Cache-Control takes the place of the default')
    assert.equal((await get('/')).headers.get('cache-control'), 'no-cache')
    assert.equal(png.headers.has('x-not-png'), false)
    assert.equal((await get('/')).headers.get('x-not-png'), 'yes')
  })

  test('cleanUrls and trailingSlash false together; a listing leaves out unlisted names', async () => {
    assert.equal((await get('/edit-project')).body.toString(), 'edit')
    assert.equal((await get('/edit-project.html')).headers.get('location'), '/edit-project')
    const listing = JSON.parse((await get('/files', 'Accept: application/json\r\n')).body.toString())
    assert.deepEqual(listing.entries.map((entry: { name: string }) => entry.name), ['a.txt'])
  })
})

describe('config errors name the key', () => {
  test('unknown keys, unsupported forms and bad rules', () => {
    for (const [config, message] of [
      [{ publik: 'x' }, /^TypeError: Unknown key publik in c\.json: expected one of \$schema, public/],
      [{ cleanUrls: ['/a/**'] }, /^TypeError: Invalid cleanUrls in c\.json: a list of globs is not supported/],
      [{ directoryListing: ['/a/**'] }, /^TypeError: Invalid directoryListing in c\.json/],
      [{ symlinks: false }, /^TypeError: Invalid symlinks in c\.json/],
      [{ redirects: [{ source: '/a/{b', destination: '/c' }] }, /^TypeError: Invalid glob "\/a\/\{b" in redirects\[0\]\.source: an unclosed/],
      [{ redirects: [{ source: '/a', destination: '/c', type: 200 }] }, /^TypeError: Invalid redirects\[0\]\.type: expected one of 301, 302, 303, 307, 308, got 200/],
      [{ redirects: [{ source: '/a', destination: 'javascript:x' }] }, /^TypeError: Invalid redirects\[0\]\.destination/],
      [{ rewrites: [{ source: '/a', destination: 'https://x.example/' }] }, /^TypeError: Invalid rewrites\[0\]\.destination: expected a path starting with \//],
      [{ rewrites: [{ source: '/a', destination: '/b', status: 1 }] }, /^TypeError: Unknown key rewrites\[0\]\.status: expected source, destination/],
      [{ headers: [{ source: '[ab]', headers: [] }] }, /^TypeError: Invalid glob "\[ab\]" in headers\[0\]\.source: character classes/],
      [{ headers: [{ source: '/**', headers: [{ key: 'Content-Length', value: '1' }] }] }, /^TypeError: Invalid header Content-Length in headers\[0\]\.headers\[0\]/],
      [{ trailingSlash: 'yes' }, /^TypeError: Invalid trailingSlash: expected true or false/],
      [[], /^TypeError: Invalid c\.json: expected a JSON object, got a list/],
    ] as const) {
      assert.throws(() => siteConfig(config, base, 'c.json'), message, JSON.stringify(config))
    }
  })

  test('our own keys and serve\'s etag and symlinks are accepted; the options work from the API as they are', async () => {
    const options = siteConfig({ $schema: 'x', etag: true, symlinks: true, spa: true, cors: true, hashedCacheControl: 'public, max-age=31536000, immutable', mimeTypes: { glb: 'model/gltf-binary' } }, base)
    assert.equal(options.root, base)
    assert.equal(options.spa, true)
    const files = new StaticFiles({ ...options, watch: false })
    await files.ready()
    files.close()
  })
})
