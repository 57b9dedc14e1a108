import assert from 'node:assert/strict'
import { execFile, spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { type AddressInfo, createConnection, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { cCompiler } from '../../src/cli/build-c.ts'
import { encodeFrame } from '../../src/index.ts'
import { untilPrinted } from '../helpers/child.ts'
import { RawClient } from '../helpers/raw-client.ts'

const root = fileURLToPath(new URL('../../', import.meta.url))

function wirespeed(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['bin/wirespeed.js', ...args], { cwd: root, timeout: 30_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    )
  })
}

async function startServer(args: string[]): Promise<{ port: number; stop(): Promise<number | null> }> {
  const child = spawn(process.execPath, ['bin/wirespeed.js', 'tcp', 'server', '--port', '0', ...args], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] })
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve))
  const out = await untilPrinted(child, / on \S+:\d+ /)
  const port = Number(/ on \S+:(\d+) /.exec(out)?.[1])
  return { port, stop: async () => (child.kill('SIGTERM'), exited) }
}

test('wirespeed tcp server echoes, and wirespeed tcp client measures roundtrips as JSON, beside the C client where it builds', async () => {
  const server = await startServer([])
  const { code, stdout } = await wirespeed(['tcp', 'client', '--port', String(server.port), '--connections', '2', '--seconds', '1', '--json'])
  assert.equal(code, 0)
  const result = JSON.parse(stdout) as Record<string, number>
  const c = cCompiler() ? ['cRoundtripsPerSecond', 'ratio', 'cP50Us', 'cP99Us'] : ['c']
  assert.deepEqual(Object.keys(result), ['roundtrips', 'seconds', 'roundtripsPerSecond', 'p50Us', 'p99Us', ...c])
  assert.ok(result.roundtrips! > 0)
  if (cCompiler()) assert.ok(result.cRoundtripsPerSecond! > 0 && result.ratio! > 0)
  assert.equal(await server.stop(), 0)
})

test('wirespeed tcp client without the C client says why, and how to compare', async () => {
  const server = await startServer(['--framed'])
  try {
    const framed = await wirespeed(['tcp', 'client', '--port', String(server.port), '--connections', '1', '--seconds', '1', '--framed'])
    assert.equal(framed.code, 0)
    assert.match(framed.stdout, /^[\d,]+ roundtrips of 16 bytes on 1 connection in 1 turn of 1 s$/m)
    assert.match(framed.stdout, /^ {2}wirespeed +[\d,]+ roundtrips\/s \(median of its turns\)/m)
    assert.match(framed.stdout, /^ {2}C client {6}not run: it sends raw bytes, not frames .*; to compare, /m)
    const off = await wirespeed(['tcp', 'client', '--port', String(server.port), '--seconds', '1', '--framed', '--reference', 'off', '--json'])
    assert.equal(off.code, 0)
    assert.equal((JSON.parse(off.stdout) as { c: string }).c, 'turned off (--reference off)')
  } finally {
    assert.equal(await server.stop(), 0)
  }
})

test('wirespeed tcp server --framed echoes frames and closes a connection that sends one over the limit', async () => {
  const server = await startServer(['--framed', '--frame-max', '8'])
  const client = await RawClient.open(server.port)
  client.send(Buffer.concat([encodeFrame(Buffer.from('12345678')), encodeFrame(Buffer.from('ab'))]))
  await client.waitFor(() => client.received.length === 12 + 6)
  assert.deepEqual(client.received, Buffer.concat([encodeFrame(Buffer.from('12345678')), encodeFrame(Buffer.from('ab'))]))
  client.send(encodeFrame(Buffer.from('123456789')))
  await client.waitForClose()
  client.close()
  assert.equal(await server.stop(), 0)
})

test('wirespeed lookup lists localhost as 127.0.0.1 and/or ::1', async () => {
  const { code, stdout } = await wirespeed(['lookup', 'localhost'])
  assert.equal(code, 0)
  assert.match(stdout, /^(127\.0\.0\.1\s+IPv4|::1\s+IPv6)$/m)
})

test('wirespeed lookup --reverse names an address, and an unknown host exits 2', async () => {
  const reverse = await wirespeed(['lookup', '127.0.0.1', '--reverse', '--port', '80'])
  assert.equal(reverse.code, 0)
  assert.match(reverse.stdout, /^127\.0\.0\.1 port 80 {2}-> {2}\S+ \(\S+\)$/m)
  const unknown = await wirespeed(['lookup', 'no-such-host.invalid'])
  assert.equal(unknown.code, 2)
  assert.match(unknown.stderr, /^wirespeed lookup: Unknown host no-such-host\.invalid \(ENOTFOUND\)\n$/)
})

test('wirespeed tcp server --path: stopped and started again on the same path, it listens (its socket file went with it)', async () => {
  const folder = mkdtempSync(join(tmpdir(), 'wirespeed-cli-unix-'))
  const path = join(folder, 'x.sock')
  try {
    for (let round = 0; round < 2; round++) {
      const child = spawn(process.execPath, ['bin/wirespeed.js', 'tcp', 'server', '--path', path], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
      let out = ''
      let err = ''
      child.stdout.on('data', (bytes: Buffer) => (out += bytes))
      child.stderr.on('data', (bytes: Buffer) => (err += bytes))
      const exited = new Promise<number | null>((resolve) => child.on('exit', resolve))
      const listening = new Promise<void>((resolve) => child.stdout.on('data', () => out.includes(` on ${path} `) && resolve()))
      assert.equal(await Promise.race([listening.then(() => 'listening'), exited.then((code) => `exited ${code}: ${err}`)]), 'listening', `round ${round}`)
      // Round 0 echoes first; round 1 sends Ctrl-C the moment the line appears, which the server must
      // already catch (it sets up its signal handlers before it prints the line).
      if (round === 0) {
        const socket = createConnection(path)
        socket.end('ping')
        const [echoed] = (await once(socket, 'data')) as [Buffer]
        assert.equal(echoed.toString(), 'ping')
        socket.destroy()
      }
      child.kill('SIGINT')
      assert.equal(await exited, 0)
      assert.equal(existsSync(path), false, `round ${round}: the socket file is gone after Ctrl-C`)
    }
  } finally {
    rmSync(folder, { recursive: true, force: true })
  }
})

test('wirespeed tcp server --path on a path that is taken names the path and speaks of no port', async () => {
  const folder = mkdtempSync(join(tmpdir(), 'wirespeed-cli-unix-'))
  const path = join(folder, 'x.sock')
  try {
    writeFileSync(path, '')
    const { code, stdout, stderr } = await wirespeed(['tcp', 'server', '--path', path])
    assert.equal(code, 2)
    assert.equal(stdout, '')
    assert.equal(stderr, `wirespeed tcp: Cannot listen on ${path}: something is already there: a server listening, or a socket file one left behind (remove it if nothing listens)\n`)
    assert.doesNotMatch(stderr, /port/)
  } finally {
    rmSync(folder, { recursive: true, force: true })
  }
})

test('wirespeed tcp server on a port that is taken says to pick another with --port', async () => {
  const taken = createServer()
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve))
  const { port } = taken.address() as AddressInfo
  try {
    const { code, stdout, stderr } = await wirespeed(['tcp', 'server', '--port', String(port)])
    assert.equal(code, 2)
    assert.equal(stdout, '')
    assert.match(stderr, new RegExp(`^wirespeed tcp: Cannot listen on 127\\.0\\.0\\.1:${port}: the port is in use; pick another with --port`))
  } finally {
    taken.close()
  }
})
