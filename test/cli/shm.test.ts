/*
 * `wirespeed shm server|client`: the demo runs the bench's loops (src/cli/shm-turns.ts) in two real
 * processes, checks every message, and reports the bench's figures, with C's beside them where C's loops
 * can run (a C compiler, two CPUs between the sides) or the reason where not. No timing is asserted: only
 * what was counted, checked and labelled. A stand-in server that spoils some replies shows the client's
 * check finds each one, in the whole words and in the bytes after them.
 */
import assert from 'node:assert/strict'
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { cCompiler } from '../../src/cli/build-c.ts'
import { cpusAllowed, twoCpusBetween, WARM_UP_PAIRS } from '../../src/cli/shm-turns.ts'

const root = fileURLToPath(new URL('../../', import.meta.url))
let koffi = true
try {
  await import('koffi')
} catch {
  koffi = false
}
const skip = koffi ? false : 'koffi is not installed: process channels need it'
/** C takes turns when it builds here and this machine gives the two sides two CPUs (not under taskset -c 0). */
const cRuns = cCompiler() !== undefined && twoCpusBetween(cpusAllowed(), cpusAllowed())

function client(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['bin/wirespeed.js', 'shm', 'client', ...args], { cwd: root, timeout: 120_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    )
  })
}

/** Starts `argv` (node arguments) and waits for `ready` on its stderr. */
async function start(argv: string[], ready: RegExp): Promise<{ child: ChildProcess; stop(): Promise<number | null> }> {
  const child = spawn(process.execPath, argv, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
  let seen = ''
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
  await new Promise<void>((resolve, reject) => {
    const look = (bytes: Buffer) => {
      seen += bytes
      if (ready.test(seen)) resolve()
    }
    child.stdout!.on('data', look)
    child.stderr!.on('data', look)
    child.once('exit', (code) => reject(new Error(`${argv.join(' ')} exited with ${code}: ${seen}`)))
  })
  return { child, stop: async () => (child.kill('SIGTERM'), exited) }
}

let names = 0
const channelName = () => `/wirespeed-test-shm-cli-${process.pid}-${++names}`

/** Runs `body` with a `wirespeed shm server` on a fresh channel, which must then stop cleanly on SIGTERM. */
async function withServer(body: (name: string) => Promise<void>): Promise<void> {
  const name = channelName()
  const server = await start(['bin/wirespeed.js', 'shm', 'server', '--name', name], /Ctrl-C to stop/)
  try {
    await body(name)
  } finally {
    assert.equal(await server.stop(), 0)
  }
}

test('shm client --json in pingpong mode counts and checks every roundtrip, with C beside it where it runs', { skip }, async () => {
  await withServer(async (name) => {
    const { code, stdout, stderr } = await client(['--name', name, '--count', '400', '--json'])
    assert.equal(code, 0, stderr)
    const result = JSON.parse(stdout) as Record<string, unknown>
    assert.equal(result.mode, 'pingpong')
    assert.equal(result.size, 11)
    assert.equal(result.roundtrips, 400)
    assert.equal(result.errors, 0)
    assert.ok((result.roundtripsPerSecond as number) > 0)
    assert.equal(result.messagesPerSecond, 2 * (result.roundtripsPerSecond as number))
    if (cRuns) {
      assert.ok((result.cPerSecond as number) > 0, JSON.stringify(result))
      assert.ok((result.ratio as number) > 0)
      assert.equal(result.cErrors, 0)
    } else assert.equal(typeof result.c, 'string')
  })
})

test('shm client --mode stream --json labels one-way messages as messages, not roundtrips', { skip }, async () => {
  await withServer(async (name) => {
    const { code, stdout, stderr } = await client(['--name', name, '--mode', 'stream', '--batch', '30', '--count', '3000', '--json'])
    assert.equal(code, 0, stderr)
    const result = JSON.parse(stdout) as Record<string, unknown>
    assert.equal(result.mode, 'stream')
    assert.equal(result.batch, 30)
    assert.equal(result.messages, 3000)
    assert.equal(result.errors, 0)
    assert.ok((result.messagesPerSecond as number) > 0)
    for (const key of ['roundtrips', 'roundtripsPerSecond']) assert.equal(key in result, false, `${key} in ${stdout}`)
    if (cRuns) assert.equal(result.cErrors, 0)
  })
})

test('shm client says why C did not run: other message sizes, --reference off', { skip }, async () => {
  await withServer(async (name) => {
    const sized = await client(['--name', name, '--count', '100', '--size', '100', '--json'])
    assert.equal(sized.code, 0, sized.stderr)
    const result = JSON.parse(sized.stdout) as Record<string, unknown>
    assert.equal(result.errors, 0)
    assert.match(result.c as string, /11-byte messages only/)
    const off = await client(['--name', name, '--count', '100', '--reference', 'off'])
    assert.equal(off.code, 0, off.stderr)
    assert.match(off.stdout, /^ {2}wirespeed +[\d,]+ roundtrips\/s/m)
    assert.match(off.stdout, /^ {2}C reference {3}not run: turned off \(--reference off\); to compare, /m)
    assert.match(off.stdout, /^ {2}errors +0$/m)
  })
})

test('shm client finds every spoiled reply, in its whole words and in the bytes after them', { skip }, async () => {
  // A stand-in server: answers the hello without C, then copies each message into its reply as the real
  // one does, but spoils every 100th reply, alternately in byte 5 (a whole word) and byte 9 (after them).
  const folder = mkdtempSync(`${tmpdir()}/wirespeed-shm-cli-`)
  const script = `${folder}/spoiling-server.ts`
  writeFileSync(
    script,
    `import { openChannel } from ${JSON.stringify(`${root}src/index.ts`)}
const channel = await openChannel({ name: process.argv[2], bytes: 1 << 16, create: true })
process.stderr.write('ready\\n')
const buffer = new Uint8Array(64)
const [, pairs, chunk] = new TextDecoder().decode(buffer.subarray(0, channel.receiveInto(buffer, 60_000))).split(' ').map(Number)
channel.send(new TextEncoder().encode('ok 0 a stand-in server'))
for (let i = 1; i <= (${WARM_UP_PAIRS} + pairs) * chunk; i++) {
  const length = channel.receiveInto(buffer, 10_000)
  if (i % 100 === 0) buffer[i % 200 === 0 ? 9 : 5] ^= 1
  channel.send(buffer, length)
}
try {
  channel.receiveInto(buffer, 10_000) // waits for the client to close: PeerGoneError
} catch {}
channel.close() // unlinks the object
`,
  )
  const name = channelName()
  const server = await start([script, name], /ready/)
  try {
    const { code, stdout } = await client(['--name', name, '--count', '200', '--json'])
    const result = JSON.parse(stdout) as Record<string, unknown>
    assert.equal(result.errors, ((WARM_UP_PAIRS + 1) * 200) / 100) // every spoiled one, warm-up included
    assert.equal(code, 1)
    assert.equal(typeof result.c, 'string')
  } finally {
    await server.stop()
    rmSync(folder, { recursive: true, force: true })
  }
})
