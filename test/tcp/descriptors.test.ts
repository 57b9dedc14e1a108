/*
 * Out of file descriptors (EMFILE): a server whose accept fails backs off and retries, never spins or
 * crashes, and serves again once descriptors are free. The server runs in a child process under
 * `prlimit --nofile=64` on every backend (skipped, saying so, where prlimit is missing).
 */
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { backendsHere } from '../../src/tcp/backends.ts'
import { untilPrinted } from '../helpers/child.ts'
import { RawClient } from '../helpers/raw-client.ts'

const fixture = fileURLToPath(new URL('./fixtures/echo-server.ts', import.meta.url))
const prlimit = spawnSync('prlimit', ['--version']).status === 0
const backends = (await backendsHere()).here

for (const backend of backends) {
  test(`${backend} backend: accept failing with EMFILE backs off, and serves again when descriptors are free`, { skip: prlimit ? false : 'prlimit not found' }, async () => {
    const child = spawn('prlimit', ['--nofile=64:64', process.execPath, fixture], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, WIRESPEED_BACKEND: backend } })
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve))
    const out = await untilPrinted(child, /\n/)
    const [port, served] = out.trim().split(' ')
    assert.equal(served, backend)
    // Far more connections than the server has descriptors for.
    const clients = await Promise.all(Array.from({ length: 120 }, () => RawClient.open(Number(port))))
    for (const client of clients) client.send('x')
    // The first echo shows the server serving; then a moment for it to serve all it can.
    for (let i = 0; i < 1200 && !clients.some((client) => client.received.length === 1); i++) await new Promise((resolve) => setTimeout(resolve, 25))
    await new Promise((resolve) => setTimeout(resolve, 500))
    const echoed = clients.filter((client) => client.received.length === 1).length
    assert.ok(echoed > 0 && echoed < 120, `${echoed} of 120 connections were served with 64 descriptors`)
    for (const client of clients) client.close()
    // Descriptors are free again: new connections are served (once the server has seen the closes and its
    // backoff has passed: waited on, up to 30 s).
    const after = await RawClient.open(Number(port))
    after.send('again')
    await after.waitFor(() => after.received.toString() === 'again', 30_000, 'the echo after EMFILE')
    after.close()
    child.kill('SIGTERM')
    assert.equal(await exited, 0)
  })
}
