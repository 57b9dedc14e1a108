/*
 * Out of file descriptors (EMFILE): a server whose accept fails backs off and retries, never spins or
 * crashes, and serves again once descriptors are free. The server runs in a child process under
 * `prlimit --nofile=64` on every backend (skipped, saying so, where prlimit is missing).
 */
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { RawClient } from '../helpers/raw-client.ts'

const fixture = fileURLToPath(new URL('./fixtures/echo-server.ts', import.meta.url))
const prlimit = spawnSync('prlimit', ['--version']).status === 0
const backends = process.platform === 'linux' ? ['node', 'epoll'] : ['node']

for (const backend of backends) {
  test(`${backend} backend: accept failing with EMFILE backs off, and serves again when descriptors are free`, { skip: prlimit ? false : 'prlimit not found' }, async () => {
    const child = spawn('prlimit', ['--nofile=64:64', process.execPath, fixture], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, WIRESPEED_BACKEND: backend } })
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve))
    let out = ''
    child.stdout!.on('data', (bytes: Buffer) => (out += bytes))
    for (let i = 0; i < 400 && !out.includes('\n'); i++) await new Promise((resolve) => setTimeout(resolve, 25))
    const [port, served] = out.trim().split(' ')
    assert.equal(served, backend)
    // Far more connections than the server has descriptors for.
    const clients = await Promise.all(Array.from({ length: 120 }, () => RawClient.open(Number(port))))
    for (const client of clients) client.send('x')
    await new Promise((resolve) => setTimeout(resolve, 500))
    const echoed = clients.filter((client) => client.received.length === 1).length
    assert.ok(echoed > 0 && echoed < 120, `${echoed} of 120 connections were served with 64 descriptors`)
    for (const client of clients) client.close()
    await new Promise((resolve) => setTimeout(resolve, 300))
    // Descriptors are free again: new connections are served.
    const after = await RawClient.open(Number(port))
    after.send('again')
    await after.waitFor(() => after.received.toString() === 'again', 5000, 'the echo after EMFILE')
    after.close()
    child.kill('SIGTERM')
    assert.equal(await exited, 0)
  })
}
