import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, test } from 'node:test'
import { installedMimeDb, mimeTableSource, TABLE_PATH } from '../../scripts/generate-mime-table.ts'
import { contentTypeOf, fileTypeOf, mimeTypeOverrides } from '../../src/static/content-type.ts'
import { mimeTable } from '../../src/static/mime-table.ts'

describe('Content-Type table', () => {
  test('src/static/mime-table.ts is what `npm run gen:mime` makes from the installed mime-db', (t) => {
    const installed = installedMimeDb()
    if (installed === null) return t.skip('mime-db (a devDependency) is not installed')
    assert.equal(readFileSync(TABLE_PATH, 'utf8'), mimeTableSource(installed.db, installed.version), 'the committed table is stale: run npm run gen:mime')
    const extensions = new Set(Object.values(installed.db).flatMap((entry) => entry.extensions ?? []))
    assert.equal(mimeTable.reduce((count, [, , owned]) => count + owned.split(' ').length, 0), extensions.size, 'every extension once')
  })

  test('contentTypeOf() gives what the hand-written table gave, and the types it lacked', () => {
    const expected: Record<string, string> = {
      'index.html': 'text/html; charset=utf-8', 'a.css': 'text/css; charset=utf-8', 'a.js': 'text/javascript; charset=utf-8',
      'a.mjs': 'text/javascript; charset=utf-8', 'a.json': 'application/json; charset=utf-8', 'a.svg': 'image/svg+xml; charset=utf-8',
      'a.xml': 'application/xml; charset=utf-8', 'a.txt': 'text/plain; charset=utf-8', 'a.webmanifest': 'application/manifest+json; charset=utf-8',
      'a.png': 'image/png', 'a.woff2': 'font/woff2', 'a.wasm': 'application/wasm', 'a.mp4': 'video/mp4', 'a.pdf': 'application/pdf',
      'a.glb': 'model/gltf-binary', 'a.vtt': 'text/vtt; charset=utf-8', 'a.ics': 'text/calendar; charset=utf-8',
      'a.jsonld': 'application/ld+json; charset=utf-8', 'a.apng': 'image/apng', 'A.PNG': 'image/png',
      // Only the last extension counts (mime-types, `serve`): a source map is JSON, a tarball gzip.
      'app.mjs.map': 'application/json; charset=utf-8', 'site.tar.gz': 'application/gzip',
      'README': 'application/octet-stream', '.env': 'application/octet-stream', 'dir.d/file': 'application/octet-stream',
      'a.constructor': 'application/octet-stream', 'a.__proto__': 'application/octet-stream', 'a.nope': 'application/octet-stream',
    }
    for (const [name, type] of Object.entries(expected)) assert.equal(contentTypeOf(name), type, name)
  })

  test('fileTypeOf() says which types compress: text, JS, JSON, SVG, XML, WASM, source maps; not images or archives', () => {
    for (const name of ['a.html', 'a.css', 'a.js', 'a.json', 'a.svg', 'a.xml', 'a.txt', 'a.wasm', 'a.js.map', 'a.vtt', 'a.glb']) assert.equal(fileTypeOf(name).compressible, true, name)
    for (const name of ['a.png', 'a.jpg', 'a.woff2', 'a.gz', 'a.zip', 'a.mp4', 'a.nope']) assert.equal(fileTypeOf(name).compressible, false, name)
  })

  test('static.mimeTypes overrides by extension, with charset for text and compressibility by type', () => {
    const overrides = mimeTypeOverrides({ '.log': 'text/plain', glb: 'application/x-mine', md: 'text/markdown; charset=latin1', data: 'application/vnd.a+json' })
    assert.deepEqual(fileTypeOf('server.log', overrides), { contentType: 'text/plain; charset=utf-8', compressible: true })
    assert.deepEqual(fileTypeOf('a.GLB', overrides), { contentType: 'application/x-mine', compressible: false })
    assert.deepEqual(fileTypeOf('a.md', overrides), { contentType: 'text/markdown; charset=latin1', compressible: true })
    assert.deepEqual(fileTypeOf('a.data', overrides), { contentType: 'application/vnd.a+json; charset=utf-8', compressible: true })
    assert.equal(fileTypeOf('a.css', overrides).contentType, 'text/css; charset=utf-8')
    assert.throws(() => mimeTypeOverrides({ 'a/b': 'text/plain' }), /^TypeError: Invalid option static\.mimeTypes: expected a file extension such as "glb", got "a\/b"$/)
    assert.throws(() => mimeTypeOverrides({ x: 'text/plain\r\nSet-Cookie: a=b' }), /^TypeError: Invalid option static\.mimeTypes\.x: expected a media type/)
    assert.throws(() => mimeTypeOverrides({ x: 'plain' }), /^TypeError: Invalid option static\.mimeTypes\.x: expected a media type/)
  })
})
