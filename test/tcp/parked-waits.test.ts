/*
 * Where an idle epoll loop cannot wait inside Node's own loop (src/ffi/node-loop-watch.ts; forced
 * here with WIRESPEED_EPOLL_PARK=pool), it parks a blocking epoll_wait on libuv's thread pool, which is one per process
 * (UV_THREADPOOL_SIZE threads, 4 by default). With as many idle loops as threads (two worker threads on a
 * pool of two), every thread would be parked and an async readFile anywhere would wait for a request to
 * wake one; with more loops than threads (a pool of one), a loop's parked wait would queue behind another's
 * and that worker would answer none of its connections while the other sleeps. Parked waits are held to one
 * fewer than the pool's threads, process-wide; a loop without room naps on a timer instead. Each case runs
 * in a child process, since the pool's size is fixed when the process starts. Parked in Node's own loop,
 * no loop holds a pool thread, and the same holds on a pool of one. Two copies of wirespeed in one thread
 * (two versions in one app) each get that park.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { threadPoolSize } from '../../src/tcp/park-budget.ts'
import { defaultBackend } from '../../src/tcp/backends.ts'

const fixture = fileURLToPath(new URL('./fixtures/idle-workers.ts', import.meta.url))
// Once, in the pass on the epoll backend (the child serves on epoll whatever this process uses).
const epoll = (await defaultBackend()) === 'epoll'

function run(pool: string, park: 'node' | 'pool'): Promise<{ answered: number; threads: number; requests: number; file: string }> {
  const child = spawn(process.execPath, [fixture], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, WIRESPEED_BACKEND: 'epoll', UV_THREADPOOL_SIZE: pool, WIRESPEED_EPOLL_PARK: park } })
  let out = ''
  child.stdout.on('data', (bytes: Buffer) => (out += bytes))
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 300_000) // 16 requests of up to 10 s each, on a loaded core
    child.on('exit', (code) => {
      clearTimeout(timer)
      if (code !== 0) return reject(new Error(`the fixture exited with ${code}: ${out}`))
      resolve(JSON.parse(out.trim().split('\n').at(-1)!))
    })
  })
}

for (const [pool, park] of [['1', 'pool'], ['2', 'pool'], ['1', 'node']] as const) {
  test(`two idle worker loops (parked ${park === 'pool' ? 'on the thread pool' : "in Node's loop"}) on a thread pool of ${pool}: every connection is answered and an async readFile still runs`, { skip: !epoll && 'the epoll backend does not run here' }, async () => {
    const result = await run(pool, park)
    assert.equal(result.answered, result.requests, `${result.requests - result.answered} of ${result.requests} connections got no answer`)
    assert.equal(result.file, 'read')
  })
}

test('threadPoolSize() reads UV_THREADPOOL_SIZE as libuv does', () => {
  assert.equal(threadPoolSize(undefined), 4)
  assert.equal(threadPoolSize('8'), 8)
  assert.equal(threadPoolSize('0'), 1)
  assert.equal(threadPoolSize('junk'), 1)
  assert.equal(threadPoolSize('5000'), 1024)
})

// Under Bun the park in Node's loop declines by design (src/ffi/node-loop-watch.ts): Bun answers to
// some of Node's addon symbols but has no libuv loop of Node's, and node::GetCurrentEventLoop aborts there.
const bun = process.versions.bun !== undefined

test("two copies of wirespeed in one thread both park in Node's loop, and each is woken", { skip: !epoll ? 'the epoll backend does not run here' : bun && "Bun has no libuv loop of Node's to park in: its loops park on the thread pool (the next test)" }, async () => {
  const { loadLibc } = await import('../../src/ffi/libc.ts')
  const libc = await loadLibc()
  type Watch = typeof import('../../src/ffi/node-loop-watch.ts')
  const secondCopy = new URL('../../src/ffi/node-loop-watch.ts?second-copy', import.meta.url).href
  const copies = [await import('../../src/ffi/node-loop-watch.ts'), (await import(secondCopy)) as Watch]
  const fds: number[] = []
  try {
    const woken = copies.map((copy) => {
      const epfd = libc.epoll_create1(0)
      const eventfd = libc.eventfd(0, 0o4000)
      fds.push(epfd, eventfd)
      const event = Buffer.alloc(16)
      event.writeUInt32LE(1, 0)
      libc.epoll_ctl(epfd, 1, eventfd, event)
      return new Promise<void>((resolve) => {
        const watch = copy.watchInNodeLoop(libc.koffi, epfd, resolve)
        assert.ok(watch, 'this copy fell back to the thread pool')
        watch.start()
        libc.write(eventfd, Buffer.from([1, 0, 0, 0, 0, 0, 0, 0]), 8)
      })
    })
    await Promise.all(woken)
  } finally {
    for (const fd of fds) libc.close(fd)
  }
})

test("under Bun the park in Node's loop declines, without asking Node's symbols, and loops park on the thread pool", { skip: !bun && 'this runtime is not Bun' }, async () => {
  const { loadLibc } = await import('../../src/ffi/libc.ts')
  const { watchInNodeLoop } = await import('../../src/ffi/node-loop-watch.ts')
  const libc = await loadLibc()
  const epfd = libc.epoll_create1(0)
  try {
    assert.equal(watchInNodeLoop(libc.koffi, epfd, () => {}), undefined)
  } finally {
    libc.close(epfd)
  }
})
