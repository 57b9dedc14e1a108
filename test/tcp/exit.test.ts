/*
 * A process exits while its epoll loop is parked on the thread pool: closing the last listener wakes the
 * parked wait, and process.exit() right after it closes the loop's fds. The exit must end the process
 * every time (it once waited forever, about 3 times in 40, for a pool thread that slept on). 24 children,
 * 4 at a time, each must exit with 0 within 10 s.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'

const fixture = fileURLToPath(new URL('./fixtures/close-and-exit.ts', import.meta.url))
const CHILDREN = 24
const AT_ONCE = 4

function runOnce(): Promise<number | string> {
  const child = spawn(process.execPath, [fixture], { stdio: 'ignore', env: { ...process.env, WIRESPEED_BACKEND: 'epoll' } })
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      resolve('still running after 10 s')
    }, 10_000)
    child.on('exit', (code, signal) => {
      clearTimeout(timer)
      resolve(code ?? `killed by ${signal}`)
    })
  })
}

test('epoll backend: exiting right after the last listener closes ends the process, every time', { skip: process.platform === 'linux' ? false : 'epoll is Linux only' }, async () => {
  const outcomes: (number | string)[] = []
  for (let started = 0; started < CHILDREN; started += AT_ONCE) {
    outcomes.push(...(await Promise.all(Array.from({ length: AT_ONCE }, runOnce))))
  }
  assert.deepEqual(outcomes.filter((outcome) => outcome !== 0), [])
})
