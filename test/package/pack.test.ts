/*
 * What a user installs, tested as they install it: `npm pack` from this checkout (which builds dist/ in
 * prepare), the tarball installed into an empty folder, and from there a server started through the
 * public import answering 200, and `npx wirespeed --help`. The packed README may link only to files the
 * tarball ships. The packed declarations are type-checked there as a user's strict project would check
 * them (`skipLibCheck: false`), with this checkout's TypeScript: `stripInternal` can remove a declaration
 * and leave a re-export of it behind, which only such a check sees.
 */
import assert from 'node:assert/strict'
import { execFile, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { delimiter, dirname, join } from 'node:path'
import { after, before, test } from 'node:test'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../../', import.meta.url))
/**
 * The Node running the tests first on PATH, so npm, npx and the installed bin all use it; then this
 * checkout's pinned Node (node_modules/.bin), for when the tests run under Bun, which brings no `node`:
 * the installed bin is a Node program, and the system's Node may be older than `engines`.
 */
const env = {
  ...process.env,
  PATH: [dirname(process.execPath), join(root, 'node_modules', '.bin'), process.env.PATH ?? ''].join(delimiter),
  npm_config_update_notifier: 'false',
}

function run(command: string, args: string[], cwd: string, timeoutMs = 120_000, environment: NodeJS.ProcessEnv = env): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd, env: environment, timeout: timeoutMs, maxBuffer: 16 << 20 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number((error as NodeJS.ErrnoException).code ?? 1) || 1 : 0, stdout, stderr }),
    )
  })
}

let work: string
let files: string[]
let tarball: string
/** What `npm install` of the tarball printed on stderr, in the app the README describes (koffi's script denied). */
let installWarnings: string

/** An empty app folder with `package.json` made of `fields`, the tarball installed into it. */
async function installInto(name: string, fields: object): Promise<{ code: number; stderr: string }> {
  const app = join(work, name)
  await mkdir(app, { recursive: true })
  await writeFile(join(app, 'package.json'), JSON.stringify({ name, version: '1.0.0', type: 'module', private: true, ...fields }))
  // --loglevel=warn: under `npm test`, npm hands its own settings to the scripts it runs (npm_config_loglevel
  // from this checkout's .npmrc is `error`), which would hide the install-script notices this file reads.
  return run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=warn', tarball], app)
}

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'wirespeed-pack-'))
  const packed = await run('npm', ['pack', '--json', '--pack-destination', work], root)
  assert.equal(packed.code, 0, `npm pack failed: ${packed.stderr}`)
  const [info] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[]
  files = info!.files.map((file) => file.path)
  tarball = join(work, info!.filename)
  // As the README's "Use it in your app" says: koffi's install script is denied, as it is not needed.
  const installed = await installInto('app', { allowScripts: { koffi: false } })
  assert.equal(installed.code, 0, `npm install of the tarball failed: ${installed.stderr}`)
  installWarnings = installed.stderr
})
after(async () => {
  await rm(work, { recursive: true, force: true })
})

test('the tarball ships the compiled code and its declarations', () => {
  for (const path of ['dist/index.js', 'dist/index.d.ts', 'dist/cli/main.js', 'bin/wirespeed.js', 'README.md', 'LICENSE']) {
    assert.ok(files.includes(path), `${path} is in the tarball (it holds ${files.length} files)`)
  }
  assert.ok(!files.some((path) => path.startsWith('src/') || path.startsWith('test/')), 'no sources or tests are shipped')
})

test('dist/ is built in prepare, which npm runs for a git install as well as for npm pack and npm ci', async () => {
  // For a git dependency npm (pacote) installs the clone's dependencies, then runs only its prepare script
  // before packing it: a build in prepack alone leaves the installed package without dist/.
  const { scripts } = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
  assert.equal(scripts.prepare, 'npm run build')
  assert.equal(scripts.prepack, undefined, 'prepack would build a second time on npm pack')
  assert.match(scripts.build!, /^tsc -p tsconfig\.build\.json$/)
})

test('the packed README links only to files the tarball ships', async () => {
  const readme = await readFile(join(root, 'README.md'), 'utf8')
  const targets = [...readme.matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)].map((match) => match[1]!).filter((target) => !/^[a-z]+:/.test(target))
  assert.ok(targets.length > 0)
  for (const target of targets) assert.ok(files.includes(target), `README links to ${target}, which the tarball does not ship`)
})

/** The fenced blocks of the README's section `heading`, with their language. */
function readmeBlocks(readme: string, heading: string): { language: string; code: string }[] {
  const start = readme.indexOf(`\n## ${heading}\n`)
  assert.ok(start >= 0, `the README has a section "${heading}"`)
  const end = readme.indexOf('\n## ', start + 1)
  const section = readme.slice(start, end < 0 ? undefined : end)
  return [...section.matchAll(/^```(\w+)\n([\s\S]*?)^```$/gm)].map((match) => ({ language: match[1]!, code: match[2]! }))
}

test('the README\'s "Use it in your app" runs from the installed package: it serves until SIGTERM, then exits 0', async () => {
  const readme = await readFile(join(root, 'README.md'), 'utf8')
  const blocks = readmeBlocks(readme, 'Use it in your app')
  const { engines } = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { engines: { node: string } }
  assert.match(blocks[0]!.code, new RegExp(`^npm install wirespeed +# Node ${engines.node.replace(/^>=/, '').replace(/\.0$/, '').replaceAll('.', '\\.')} or later$`, 'm'))
  const example = blocks.find((block) => block.language === 'js')
  assert.ok(example, 'a js example')
  await writeFile(join(work, 'app', 'server.mjs'), example.code)
  const child = spawn(process.execPath, ['server.mjs'], { cwd: join(work, 'app'), env: { ...env, PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let errors = ''
  child.stdout.on('data', (bytes: Buffer) => (out += bytes))
  child.stderr.on('data', (bytes: Buffer) => (errors += bytes))
  const exited = once(child, 'exit') as Promise<[number | null, string | null]>
  const listening = new Promise<string>((resolve) => child.stdout.on('data', () => /Listening on (\S+)\n/.test(out) && resolve(/Listening on (\S+)\n/.exec(out)![1]!)))
  const url = await Promise.race([listening, exited.then(([code]) => assert.fail(`exited ${code} before listening: ${errors}`))])
  const reply = await fetch(`${url}/from-readme`)
  assert.equal(await reply.text(), 'Hello from /from-readme')
  child.kill('SIGTERM')
  assert.deepEqual(await exited, [0, null], errors)
})

test('no README example closes its server right after starting it', async () => {
  const readme = await readFile(join(root, 'README.md'), 'utf8')
  const examples = [...readme.matchAll(/^```(?:ts|js)\n([\s\S]*?)^```$/gm)].map((match) => match[1]!).filter((code) => /\bserve\(/.test(code))
  assert.ok(examples.length >= 4, `found ${examples.length} examples that serve`)
  for (const code of examples) assert.doesNotMatch(code, /^await server\.close\(\)/m)
})

test('a server started through the public import of the installed package answers 200', async () => {
  const script = `
    import { serve } from 'wirespeed'
    const server = await serve({ port: 0, handler: (request, response) => response.send('installed ' + request.path) })
    const reply = await fetch(server.url + '/x')
    console.log(reply.status, await reply.text())
    await server.close()
  `
  await writeFile(join(work, 'app', 'check.mjs'), script)
  const result = await run(process.execPath, ['check.mjs'], join(work, 'app'), 30_000)
  assert.equal(result.code, 0, result.stderr)
  assert.equal(result.stdout.trim(), '200 installed /x')
})

/**
 * The packages npm's install-script approvals list in `stderr` ("not yet covered by allowScripts"), leaving
 * out wirespeed's own prepare: npm lists a prepare script for a tarball or git source (never from the
 * registry), and runs it only for a git source, where it builds dist/.
 */
function scriptsListed(stderr: string): string[] {
  return stderr.split('\n').filter((line) => /^npm warn install-scripts {3}\S/.test(line))
    .map((line) => line.split(/\s+/)[3]!.replace(/@[^@]*$/, ''))
    .filter((name) => name !== 'wirespeed')
}

test('installing the tarball lists no dependency\'s install script once koffi\'s is denied, and koffi still loads (its binaries come prebuilt)', async () => {
  assert.deepEqual(scriptsListed(installWarnings), [], installWarnings)
  // Without the entry, npm names koffi's install script, and only it, for review.
  const bare = await installInto('bare', {})
  assert.equal(bare.code, 0, bare.stderr)
  assert.deepEqual(scriptsListed(bare.stderr), ['koffi'], bare.stderr)
  const script = `
    import { listen } from 'wirespeed'
    const listener = await listen({ port: 0, handlers: {} })
    console.log(listener.backend, listener.backendReason)
    await listener.close()
  `
  await writeFile(join(work, 'app', 'check-backend.mjs'), script)
  const defaults: NodeJS.ProcessEnv = { ...env }
  delete defaults.WIRESPEED_BACKEND
  const result = await run(process.execPath, ['check-backend.mjs'], join(work, 'app'), 30_000, defaults)
  assert.equal(result.code, 0, result.stderr)
  if (process.platform === 'linux') assert.equal(result.stdout.trim(), 'epoll the default on Linux')
})

test('a WebSocket served by the installed package answers Node\'s own WebSocket client (undici)', async () => {
  const script = `
    import { serve } from 'wirespeed'
    const server = await serve({
      port: 0,
      fetch: (request, server) => (server.upgrade(request) ? undefined : new Response('no', { status: 426 })),
      websocket: { perMessageDeflate: true, message: (ws, message) => ws.send('echo ' + message) },
    })
    const ws = new WebSocket(server.url.replace('http', 'ws'))
    const got = await new Promise((resolve, reject) => {
      ws.onopen = () => ws.send('hi')
      ws.onmessage = (event) => resolve(event.data)
      ws.onerror = () => reject(new Error('websocket error'))
    })
    const closed = new Promise((resolve) => (ws.onclose = (event) => resolve(event.code)))
    ws.close(1000)
    console.log(got, ws.extensions, await closed)
    await server.close()
  `
  await writeFile(join(work, 'app', 'check-ws.mjs'), script)
  const result = await run(process.execPath, ['check-ws.mjs'], join(work, 'app'), 30_000)
  assert.equal(result.code, 0, result.stderr)
  assert.match(result.stdout.trim(), /^echo hi permessage-deflate.* 1000$/)
})

test('npx wirespeed --help runs the installed command, and lists only what runs there (no bench)', async () => {
  const result = await run('npx', ['--no-install', 'wirespeed', '--help'], join(work, 'app'), 60_000)
  assert.equal(result.code, 0, result.stderr)
  assert.match(result.stdout, /^  serve /m)
  assert.doesNotMatch(result.stdout, /^  bench /m)
  const bench = await run('npx', ['--no-install', 'wirespeed', 'bench'], join(work, 'app'), 60_000)
  assert.equal(bench.code, 2)
  assert.match(bench.stderr, /^wirespeed bench: the benchmarks run from a checkout of the repository/)
})

test('the packed declarations type-check in a strict project with skipLibCheck: false', async () => {
  const app = join(work, 'app')
  await writeFile(join(app, 'check-types.ts'), [
    "import { serve, listen, openChannel, WirespeedError, type ServeOptions, type Handler } from 'wirespeed'",
    "const handler: Handler = (request, response) => response.send(request.path)",
    "const options: ServeOptions = { port: 0, handler }",
    "export const started: Promise<unknown>[] = [serve(options), listen({ port: 0, handlers: { data: (connection, bytes) => connection.write(bytes) } }), openChannel({ name: '/x', bytes: 4096, create: true })]",
    "export const isOurs = (error: unknown): boolean => error instanceof WirespeedError && error.code === 'LISTEN_FAILED'",
    '',
  ].join('\n'))
  await writeFile(join(app, 'tsconfig.json'), JSON.stringify({
    compilerOptions: {
      target: 'es2024', module: 'nodenext', moduleResolution: 'nodenext', strict: true, skipLibCheck: false, noEmit: true,
      // @types/node from this checkout: the app installs only the tarball (its own copy would be the same).
      types: ['node'], typeRoots: [join(root, 'node_modules', '@types')],
    },
    files: ['check-types.ts'],
  }))
  const result = await run(join(root, 'node_modules', '.bin', 'tsc'), ['-p', app], app, 120_000)
  assert.equal(result.code, 0, `tsc on the packed declarations: ${result.stdout}${result.stderr}`)
})
