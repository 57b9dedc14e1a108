/*
 * A process exits while its epoll loop is parked (in Node's own loop, and on the thread pool, the fallback
 * forced with WIRESPEED_EPOLL_PARK=pool): closing the last listener wakes or stops the parked wait, and
 * process.exit() right after it closes the loop's fds. The exit must end the process every time (on the
 * pool it once waited forever, about 3 times in 40, for a pool thread that slept on). 24 children, 4 at a
 * time, each must exit with 0 within 10 s of closing its listener (starting Node, which takes seconds when
 * four start at once on a loaded core, is bounded apart, by 60 s). And worker threads whose loops are parked end every way a
 * thread ends without taking the process down or hanging (terminate() once hung for good on the pool).
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'

const fixture = fileURLToPath(new URL('./fixtures/close-and-exit.ts', import.meta.url))
const CHILDREN = 24
const AT_ONCE = 4

function runOnce(park: string): Promise<number | string> {
  const child = spawn(process.execPath, [fixture], { stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, WIRESPEED_BACKEND: 'epoll', WIRESPEED_EPOLL_PARK: park } })
  return new Promise((resolve) => {
    const stop = (why: string) => {
      child.kill('SIGKILL')
      resolve(why)
    }
    let timer = setTimeout(() => stop('never closed its listener within 60 s'), 60_000)
    let out = ''
    child.stdout.on('data', (bytes: Buffer) => {
      out += bytes
      if (!out.includes('closing\n')) return
      out = ''
      clearTimeout(timer)
      timer = setTimeout(() => stop('still running 10 s after closing its listener'), 10_000)
    })
    child.on('exit', (code, signal) => {
      clearTimeout(timer)
      resolve(code ?? `killed by ${signal}`)
    })
  })
}

for (const park of ['node', 'pool']) {
  test(`epoll backend (parked ${park === 'node' ? "in Node's loop" : 'on the thread pool'}): exiting right after the last listener closes ends the process, every time`, { skip: process.platform === 'linux' ? false : 'epoll is Linux only' }, async () => {
    const outcomes: (number | string)[] = []
    for (let started = 0; started < CHILDREN; started += AT_ONCE) {
      outcomes.push(...(await Promise.all(Array.from({ length: AT_ONCE }, () => runOnce(park)))))
    }
    assert.deepEqual(outcomes.filter((outcome) => outcome !== 0), [])
  })
}

const endParked = fileURLToPath(new URL('./fixtures/end-parked-workers.ts', import.meta.url))

for (const park of ['node', 'pool']) {
  test(`epoll backend (${park === 'node' ? "parked in Node's loop" : 'parked on the thread pool'}): a worker thread whose loop is parked ends by terminate(), process.exit() or closing, and the process lives on`, { skip: process.platform === 'linux' ? false : 'epoll is Linux only' }, async () => {
    const env = { ...process.env, WIRESPEED_BACKEND: 'epoll', WIRESPEED_EPOLL_PARK: park }
    const child = spawn(process.execPath, [endParked], { stdio: ['ignore', 'pipe', 'pipe'], env })
    let out = ''
    let errors = ''
    child.stdout.on('data', (bytes: Buffer) => (out += bytes))
    child.stderr.on('data', (bytes: Buffer) => (errors += bytes))
    const timer = setTimeout(() => child.kill('SIGKILL'), 180_000) // six workers started one after another: seconds each on a loaded core
    const [code, signal] = await new Promise<[number | null, string | null]>((resolve) => child.on('exit', (...outcome) => resolve(outcome)))
    clearTimeout(timer)
    assert.equal(signal, null, `the process was killed by ${signal}: ${errors}`)
    assert.equal(code, 0, errors)
    const results = JSON.parse(out.trim())
    assert.deepEqual(Object.keys(results).sort(), ['natural end 1', 'natural end 2', 'process.exit 1', 'process.exit 2', 'terminate 1', 'terminate 2'])
    for (const reply of Object.values(results)) assert.equal(reply, 'pong')
  })
}
