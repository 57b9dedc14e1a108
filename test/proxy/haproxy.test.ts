/*
 * readProxyHeader() against what a real HAProxy sends: `send-proxy` (v1), `send-proxy-v2` with the
 * CRC32C, unique-id and authority TLVs, and the LOCAL header of its health checks (`check-send-proxy`),
 * to a node:net server on loopback that keeps the first bytes of each connection. The client's own port
 * must come back as the header's source. Skipped, saying so, where `haproxy` is not installed
 * (`apt-get install haproxy`).
 */
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { readProxyHeader } from '../../src/proxy/read-proxy-header.ts'
import type { ProxyHeader } from '../../src/proxy/types.ts'

const version = spawnSync('haproxy', ['-v'], { encoding: 'utf8' })
const skip = version.error === undefined && version.status === 0 ? false : 'haproxy is not installed (apt-get install haproxy to run this test)'

async function freePort(): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as net.AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

interface Seen { header: ProxyHeader; rest: string }

test('readProxyHeader() reads HAProxy\'s send-proxy, send-proxy-v2 and health-check headers', { skip }, async () => {
  const seen: Seen[] = []
  const waiters: (() => void)[] = []
  // The backend: keeps each connection's bytes and reads its header once the client's payload is in.
  const backend = net.createServer((socket) => {
    let bytes = Buffer.alloc(0)
    socket.on('data', (chunk: Buffer) => {
      bytes = Buffer.concat([bytes, chunk])
      const read = readProxyHeader(bytes)
      assert.notEqual(read.state, 'error', read.state === 'error' ? read.reason : '')
      if (read.state !== 'done') return
      // A LOCAL check sends nothing after its header; a relayed connection sends "hello".
      const rest = bytes.subarray(read.consumed).toString()
      if (read.header.command === 'local' || rest === 'hello') {
        seen.push({ header: read.header, rest })
        socket.end()
        for (const wake of waiters.splice(0)) wake()
      }
    })
    socket.on('error', () => {})
  })
  await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve))
  const backendPort = (backend.address() as net.AddressInfo).port
  const [v1Port, v2Port] = [await freePort(), await freePort()]
  const folder = mkdtempSync(join(tmpdir(), 'wirespeed-haproxy-'))
  const config = join(folder, 'haproxy.cfg')
  writeFileSync(config, [
    'defaults', '  mode tcp', '  timeout connect 5s', '  timeout client 30s', '  timeout server 30s',
    'frontend v1', `  bind 127.0.0.1:${v1Port}`, '  default_backend b1',
    'backend b1', `  server s 127.0.0.1:${backendPort} send-proxy`,
    'frontend v2', `  bind 127.0.0.1:${v2Port}`, '  unique-id-format %{+X}o\\ %ci:%cp_%fi:%fp_%Ts_%rt:%pid', '  default_backend b2',
    'backend b2', `  server s 127.0.0.1:${backendPort} send-proxy-v2 proxy-v2-options crc32c,unique-id,authority`,
    'backend checks', `  server s 127.0.0.1:${backendPort} send-proxy-v2 check check-send-proxy inter 200ms`,
    '',
  ].join('\n'))
  const haproxy = spawn('haproxy', ['-db', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] })
  let log = ''
  haproxy.stderr.on('data', (chunk) => (log += chunk))
  const exited = new Promise<void>((resolve) => haproxy.once('exit', () => resolve()))
  // If HAProxy stops (a config it refuses), the waits below end with its log instead of hanging.
  haproxy.once('exit', () => { for (const wake of waiters.splice(0)) wake() })
  try {
    const until = async (done: () => boolean) => {
      while (!done()) {
        if (haproxy.exitCode !== null || haproxy.signalCode !== null) throw new Error(`HAProxy exited (${haproxy.exitCode ?? haproxy.signalCode})`)
        await new Promise<void>((resolve) => waiters.push(resolve))
      }
    }
    // HAProxy is listening once its first health check has arrived (it binds before it checks).
    await until(() => seen.some((entry) => entry.header.command === 'local'))
    const local = seen.find((entry) => entry.header.command === 'local')!.header
    assert.partialDeepStrictEqual(local, { version: 2, command: 'local', family: 'unspec', source: undefined })

    const send = async (port: number): Promise<number> => {
      const socket = net.connect(port, '127.0.0.1')
      await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject))
      socket.end('hello')
      socket.on('error', () => {})
      socket.resume()
      return socket.localPort!
    }
    const v1ClientPort = await send(v1Port)
    await until(() => seen.some((entry) => entry.header.version === 1))
    const v1 = seen.find((entry) => entry.header.version === 1)!.header
    assert.partialDeepStrictEqual(v1, {
      command: 'proxy', family: 'inet', transport: 'stream',
      source: { address: '127.0.0.1', port: v1ClientPort }, destination: { address: '127.0.0.1', port: v1Port },
    })
    const v2ClientPort = await send(v2Port)
    await until(() => seen.some((entry) => entry.header.version === 2 && entry.header.command === 'proxy'))
    const v2 = seen.find((entry) => entry.header.version === 2 && entry.header.command === 'proxy')!.header
    assert.partialDeepStrictEqual(v2, {
      family: 'inet', transport: 'stream',
      source: { address: '127.0.0.1', port: v2ClientPort }, destination: { address: '127.0.0.1', port: v2Port },
    })
    assert.equal(typeof v2.tlvs.crc32c, 'number', 'HAProxy sent a CRC32C and it matched')
    // The unique-id-format's %{+X} writes the client's address and port in hex: 7F000001:<port>_...
    const hexPort = v2ClientPort.toString(16).toUpperCase().padStart(4, '0')
    assert.ok(Buffer.from(v2.tlvs.uniqueId!).toString().startsWith(`7F000001:${hexPort}_`), Buffer.from(v2.tlvs.uniqueId!).toString())
  } catch (error) {
    throw new Error(`${(error as Error).message}\nHAProxy said:\n${log}`, { cause: error })
  } finally {
    haproxy.kill()
    await exited
    await new Promise((resolve) => backend.close(resolve))
    rmSync(folder, { recursive: true, force: true })
  }
})
