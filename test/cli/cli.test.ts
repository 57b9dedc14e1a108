import assert from 'node:assert/strict'
import { execFile, execFileSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { UsageError, WirespeedError } from '../../src/index.ts'
import { integerFlag, parseFlags } from '../../src/cli/args.ts'

const root = fileURLToPath(new URL('../../', import.meta.url))

function wirespeed(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['bin/wirespeed.js', ...args], { cwd: root, timeout: 30_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    )
  })
}

test('wirespeed --help lists every command (bench too, in a checkout)', async () => {
  const { code, stdout } = await wirespeed('--help')
  assert.equal(code, 0)
  for (const command of ['serve', 'bench', 'shm', 'tcp', 'watch', 'lookup']) assert.match(stdout, new RegExp(`^  ${command} `, 'm'))
})

test('wirespeed with an unknown command says what it expected and exits 2', async () => {
  const { code, stderr } = await wirespeed('nope')
  assert.equal(code, 2)
  assert.match(stderr, /unknown command "nope": expected one of serve, bench/)
})

/** An older Node on this machine, to run the command with (the system's, while the tests run the pinned one). */
const OLD_NODE = '/usr/bin/node'
function olderNode(): { path: string; version: string } | string {
  if (!existsSync(OLD_NODE)) return `no ${OLD_NODE} on this machine`
  const version = execFileSync(OLD_NODE, ['-p', 'process.versions.node'], { encoding: 'utf8' }).trim()
  const [major = 0, minor = 0] = version.split('.').map(Number)
  if (major > 22 || (major === 22 && minor >= 18)) return `${OLD_NODE} is Node ${version}, not older than the 22.18 the package needs`
  return { path: OLD_NODE, version }
}
const old = olderNode()

function runWith(node: string, script: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(node, [script, ...args], { cwd: root, timeout: 30_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    )
  })
}

test('bin/wirespeed.js on an older Node says in one line which Node it needs and how to run it, in a checkout', { skip: typeof old === 'string' && old }, async () => {
  const { path, version } = old as { path: string; version: string }
  const { code, stdout, stderr } = await runWith(path, 'bin/wirespeed.js', ['--help'])
  assert.equal(code, 1)
  assert.equal(stdout, '')
  assert.equal(
    stderr,
    `wirespeed needs Node 22.18 or later (this is ${version}): in this checkout run npm ci once, then npx wirespeed or npm start, which use the Node it installs (node_modules/.bin/node)\n`,
  )
})

test('bin/wirespeed.js on an older Node says the same from an installed package (no src/, dist/ instead)', { skip: typeof old === 'string' && old }, async () => {
  const { path, version } = old as { path: string; version: string }
  // The installed package's layout, as far as the command sees it before it imports anything: bin/ beside package.json.
  const installed = mkdtempSync(join(tmpdir(), 'wirespeed-bin-'))
  try {
    mkdirSync(join(installed, 'bin'))
    copyFileSync(join(root, 'bin', 'wirespeed.js'), join(installed, 'bin', 'wirespeed.js'))
    copyFileSync(join(root, 'package.json'), join(installed, 'package.json'))
    const { code, stderr } = await runWith(path, join(installed, 'bin', 'wirespeed.js'), ['serve'])
    assert.equal(code, 1)
    assert.equal(stderr, `wirespeed needs Node 22.18 or later (this is ${version}): install a newer Node (https://nodejs.org), then run npx wirespeed\n`)
  } finally {
    rmSync(installed, { recursive: true, force: true })
  }
})

test('the Node the two tests above expect bin/wirespeed.js to ask for is the one package.json declares (engines)', () => {
  const { engines } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { engines: { node: string } }
  assert.equal(engines.node, '>=22.18.0')
})

test('an option a command does not have is named as such, with a pointer to its --help (not parseArgs\' advice to use --)', async () => {
  const { code, stdout, stderr } = await wirespeed('serve', 'public', '--single')
  assert.equal(code, 2)
  assert.equal(stdout, '')
  assert.equal(stderr, 'wirespeed serve: --single is not an option of serve; wirespeed serve --help lists its options\n')
  const short = await wirespeed('lookup', 'localhost', '-x')
  assert.equal(short.stderr, 'wirespeed lookup: -x is not an option of lookup; wirespeed lookup --help lists its options\n')
})

test('a flag without its value, and a value given to a switch, are each said plainly', async () => {
  for (const args of [['serve', '--port'], ['serve', '--port', '--host', '127.0.0.1']]) {
    const { code, stderr } = await wirespeed(...args)
    assert.equal(code, 2)
    assert.equal(stderr, 'wirespeed serve: --port needs a value, as in --port=VALUE\n')
  }
  const { code, stderr } = await wirespeed('lookup', 'localhost', '--reverse=yes')
  assert.equal(code, 2)
  assert.equal(stderr, 'wirespeed lookup: --reverse takes no value (got "yes")\n')
})

test('parseFlags() refuses with a UsageError of the error vocabulary: a WirespeedError with a code', () => {
  const spec = { port: { type: 'string' }, json: { type: 'boolean' } } as const
  assert.throws(() => parseFlags(['--single'], spec), (error: unknown) => {
    assert.ok(error instanceof UsageError && error instanceof WirespeedError)
    assert.equal(error.code, 'UNKNOWN_OPTION')
    assert.equal(error.unknownOption, '--single')
    assert.equal(error.message, 'Unknown option --single')
    return true
  })
  assert.throws(() => integerFlag('port', 'x', 0, 0, 65535), (error: unknown) => error instanceof UsageError && error.code === 'BAD_USAGE' && error.unknownOption === undefined)
  assert.deepEqual({ ...parseFlags(['a', '--port=1', '--json'], spec).values }, { port: '1', json: true })
})
