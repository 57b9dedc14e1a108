/*
 * Headless Chromium (Debian's `chromium`, installed by test/setup-browser.sh where apt is available) against
 * a single-page app served with `spa` and compression: it opens a deep link, gets index.html for it, loads
 * the app's script compressed (with the Accept-Encoding a browser sends) and its JSON, and posts what it saw
 * back. Without Chromium the test is skipped with a message that says why.
 */
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { serve, StaticFiles } from '../../src/index.ts'
import { assertNoOpenHandles, exchange } from '../helpers/raw-client.ts'

after(assertNoOpenHandles)

function findChromium(): string | undefined {
  for (const name of ['chromium', 'chromium-browser', 'google-chrome']) {
    const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' })
    if (found.status === 0 && found.stdout.trim() !== '') return found.stdout.trim()
  }
  return undefined
}

const INDEX = '<!doctype html><meta charset=utf-8><title>app</title><div id=app></div><script src="/assets/app.js"></script>'
// The app: renders its route, fetches its data, and reports what the browser saw (transfer sizes included:
// a compressed reply has an encoded size below its decoded size).
const APP = `${'// padding so the script is worth compressing\n'.repeat(60)}
const route = location.pathname
document.getElementById('app').textContent = 'route ' + route
fetch('/assets/data.json').then((reply) => reply.json()).then((data) => {
  const timing = performance.getEntriesByName(new URL('/assets/app.js', location.href).href)[0]
  return fetch('/result', { method: 'POST', body: JSON.stringify({ route, rendered: document.getElementById('app').textContent, data, encodedBodySize: timing.encodedBodySize, decodedBodySize: timing.decodedBodySize }) })
}).catch((error) => fetch('/result', { method: 'POST', body: JSON.stringify({ error: String(error) }) }))
`
const DATA = { items: Array.from({ length: 100 }, (_, i) => ({ id: i, name: `item ${i}` })) }

const chromium = findChromium()
test('headless Chromium opens a deep link of a single-page app, gets index.html, and loads its script compressed', { skip: chromium === undefined ? 'Chromium is not installed (test/setup-browser.sh installs Debian\'s chromium where apt is available)' : false }, async () => {
  const root = mkdtempSync(join(tmpdir(), 'wirespeed-spa-browser-'))
  mkdirSync(join(root, 'assets'))
  writeFileSync(join(root, 'index.html'), INDEX)
  writeFileSync(join(root, 'assets', 'app.js'), APP)
  writeFileSync(join(root, 'assets', 'data.json'), JSON.stringify(DATA))
  let resolveResult: (result: unknown) => void = () => {}
  const result = new Promise<unknown>((resolve) => (resolveResult = resolve))
  const files = new StaticFiles({ root, spa: true, watch: false })
  const server = await serve({
    port: 0,
    handler: (request, response) => files.handle(request, response, async (request, response) => {
      if (request.method === 'POST' && request.path === '/result') resolveResult(JSON.parse(await request.text()))
      response.send('ok')
    }),
  })
  // The script is cached and compressed before the browser asks for it (a cold file is sent as it is).
  const warm = await exchange(server.port, 'GET /assets/app.js HTTP/1.1\r\nHost: a\r\n\r\n')
  warm.client.close()
  await files.compressed()
  const profile = `/tmp/wirespeed-chromium-spa-${process.pid}`
  const browser = spawn(chromium!, ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', `--user-data-dir=${profile}`, `${server.url}/users/42?tab=2`], { stdio: 'ignore', detached: true })
  try {
    const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error('Chromium did not report within 60 s')), 60_000).unref())
    const reported = (await Promise.race([result, timeout])) as Record<string, unknown>
    assert.equal(reported.error, undefined)
    assert.equal(reported.route, '/users/42')
    assert.equal(reported.rendered, 'route /users/42')
    assert.deepEqual(reported.data, DATA)
    assert.equal(reported.decodedBodySize, Buffer.byteLength(APP))
    assert.ok((reported.encodedBodySize as number) < (reported.decodedBodySize as number) / 4, `the script came compressed: ${reported.encodedBodySize} bytes for ${reported.decodedBodySize}`)
  } finally {
    // Chromium's helpers share its process group: stop the group this test started.
    try {
      process.kill(-browser.pid!, 'SIGKILL')
    } catch {}
    await server.close()
    files.close()
    rmSync(profile, { recursive: true, force: true })
    rmSync(root, { recursive: true, force: true })
  }
})
