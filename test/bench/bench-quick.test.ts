// Runs `npm run bench -- http --quick` so the benchmark harness cannot rot. No timing is asserted: only
// that every contender found is checked and measured, and that the table comes out.
import assert from 'node:assert/strict'
import { execFile, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../../', import.meta.url))

function bench(suite: string): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    // (A quick suite takes under a minute; the bound is for a hang, on a machine several times slower.)
    execFile(process.execPath, ['bench/run.ts', suite, '--quick'], { cwd: root, timeout: 300_000 }, (error, stdout, stderr) =>
      error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve({ stdout, stderr }),
    )
  })
}

test('the http benchmark runs in quick mode and prints its table', async () => {
  const { stdout, stderr } = await bench('http')
  const backends = process.platform === 'linux' ? ['epoll', 'node:net'] : ['node:net']
  for (const backend of backends) {
    assert.match(stderr, new RegExp(`✔ wirespeed \\(${backend}\\) answers GET / with 200`))
    assert.match(stderr, new RegExp(`✔ bare responder \\(${backend}\\) answers GET / with 200`))
    assert.match(stdout, new RegExp(`\\| wirespeed \\(${backend}\\) \\| keep-alive \\| [\\d,]+ \\| [\\d.]+ \\|`))
    assert.match(stdout, new RegExp(`\\| wirespeed \\(${backend}\\) \\| pipelined ×16 \\| [\\d,]+ \\| [\\d.]+ \\|`))
  }
  assert.match(stderr, /✔ node:http answers GET \/ with 200/)
  // The reference (the C floor where a compiler is found, else node:http) is 1.00× of itself.
  const reference = /CPU\/request vs (.+?) \|/.exec(stdout)?.[1]
  assert.ok(reference === 'C epoll floor' || reference === 'node:http', `reference ${reference}`)
  assert.ok(stdout.includes(`| ${reference} | keep-alive |`))
  // ...and the last column says how busy the load generator was (wrk's CPU; '–' for loadgen.ts).
  assert.match(stdout.split('\n').find((line) => line.startsWith(`| ${reference} | keep-alive |`))!, /\| 1\.00× \| 1\.00× \| (\d+%|–) \|$/)
  assert.doesNotMatch(stderr, /errors/)
})

test('the apps benchmark runs in quick mode: every app answers right, and the router table comes out', async () => {
  const { stdout, stderr } = await bench('apps')
  for (const name of ['Hono on wirespeed \\(fetch\\)', 'Hono on @hono/node-server', 'wirespeed routes', 'wirespeed handler']) {
    assert.match(stderr, new RegExp(`✔ ${name} answers GET /users/42 with 200`))
    assert.match(stderr, new RegExp(`✔ ${name} answers POST /echo with 200`))
    assert.match(stdout, new RegExp(`\\| ${name} \\| POST /echo JSON body \\| [\\d,]+ \\| [\\d.]+ \\|`))
  }
  // The floor under the apps: a canned reply, measured on the text load only.
  if (process.platform === 'linux') {
    assert.match(stderr, /✔ bare responder \(epoll\) answers GET \/ with 200/)
    assert.match(stdout, /\| bare responder \(epoll\) \| GET \/ text \| [\d,]+ \| [\d.]+ \|/)
    assert.doesNotMatch(stdout, /\| bare responder \(epoll\) \| GET \/users/)
  }
  for (const router of ['wirespeed Router', 'find-my-way']) {
    assert.match(stderr, new RegExp(`✔ ${router} matches the parametric lookups`))
    assert.match(stdout, new RegExp(`\\| ${router} \\| [\\d.]+ \\| [\\d.]+ \\| [\\d.]+ \\|`))
  }
  assert.doesNotMatch(stderr, /errors|✘/)
})

test('the static benchmark runs in quick mode and prints its table', async () => {
  const { stdout, stderr } = await bench('static')
  assert.match(stderr, /✔ wirespeed, epoll answers GET \/ with 200 and 50 bytes/)
  assert.match(stderr, /✔ wirespeed, epoll answers GET \/large.bin with 200 and 102400 bytes/)
  assert.match(stderr, /✔ wirespeed, node answers GET \/huge.bin with 200 and 4194304 bytes/)
  for (const backend of ['epoll', 'node']) {
    for (const load of ['50 B index.html', '100 KiB file', '4 MiB file \\(streamed\\)']) {
      assert.match(stdout, new RegExp(`\\| wirespeed, ${backend} \\| ${load} \\| [\\d,]+ \\| [\\d.]+ \\|`))
    }
  }
  assert.doesNotMatch(stderr, /errors/)
})

test('the shm benchmark runs in quick mode, with no integrity errors', async () => {
  const { stdout } = await bench('shm')
  assert.match(stdout, /\| ping-pong between processes \| wirespeed process channel \(koffi mapping\) \| [\d,]+ roundtrips\/s \|/)
  // C's loops take turns with the channel in the same processes (where a C compiler is found; said where not).
  for (const group of ['ping-pong between processes', 'stream between processes, batch 1', 'stream between processes, batch 30']) {
    assert.match(stdout, new RegExp(`(\\| ${group} \\| C reference, in turns with wirespeed in the same processes \\| [\\d,]+ (roundtrips|messages)/s \\||Skipped ${group} \\| C reference, in turns)`))
  }
  assert.match(stdout, /\| ping-pong between threads \| wirespeed thread channel \| [\d,]+ roundtrips\/s \|/)
  assert.match(stdout, /\| stream between processes, batch 30 \| wirespeed process channel \| [\d,]+ messages\/s \|/)
  assert.match(stdout, /\| ping-pong over TCP \(loopback, one connection\) \| wirespeed TCP channel \(the caller's socket, epoll\) \| [\d,]+ roundtrips\/s \|/)
  assert.match(stdout, /\| ping-pong over TCP \(loopback, one connection\) \| wirespeed TCP channel \(bridge thread, node backend\) \| [\d,]+ roundtrips\/s \|/)
  assert.doesNotMatch(stdout, /errors\)/)
})

test('the tcp benchmark runs in quick mode and prints its table', async () => {
  const { stdout } = await bench('tcp')
  assert.match(stdout, /\| 8 \| wirespeed tcp server, epoll \| [\d,]+ \| [\d.]+ \|/)
  assert.match(stdout, /\| 1 \| node:net echo \| [\d,]+ \| [\d.]+ \|/)
})

test('the websocket benchmark runs in quick mode: every server echoes and publishes, and both tables come out', async () => {
  const { stdout, stderr } = await bench('websocket')
  if (/Not run: the C load generator/.test(stdout)) return // no C compiler: said in the table
  const servers = ['wirespeed \\(epoll\\)', 'wirespeed \\(node:net\\)', 'ws \\(Node\\)']
  for (const server of servers) {
    assert.match(stderr, new RegExp(`✔ ${server} echoes and publishes`))
    for (const scenario of ['echo, 1 client', 'echo, 60 clients', 'echo, 1,000 clients', 'fan-out to 1,000']) {
      assert.match(stdout, new RegExp(`\\| ${scenario} \\| ${server} \\| [\\d,]+ \\| [\\d.]+ \\|`))
    }
    assert.match(stdout, new RegExp(`\\| ${server} \\| [\\d.-]+ \\| [\\d.-]+ \\|`))
  }
  assert.match(stdout, /A wirespeed WebSocket costs [\d.-]+ KiB of RSS/)
  assert.doesNotMatch(stdout, /Skipped wirespeed/)
})

test('the soak runs in quick mode and every check holds', async () => {
  const { stdout } = await bench('soak')
  assert.match(stdout, /keep-alive requests: RSS growth \| [\d.]+ MiB \| 24\.0 MiB \| ✔ \|/)
  assert.doesNotMatch(stdout, /✘/)
})

test('npm run bench -- --help (and -h) prints the usage and exits 0', async () => {
  for (const flag of ['--help', '-h']) {
    const result = await new Promise<{ code: number; stdout: string }>((resolve) =>
      execFile(process.execPath, ['bench/run.ts', flag], { cwd: root, timeout: 30_000 }, (error, stdout) => resolve({ code: error ? 1 : 0, stdout })),
    )
    assert.equal(result.code, 0)
    assert.match(result.stdout, /^Usage: npm run bench -- \[suite \.\.\.\]/)
    assert.match(result.stdout, /Suites: http, apps, static, websocket, shm, tcp, soak/)
  }
})

test('SIGINT to the runner alone stops every process it started, then the runner exits', async () => {
  const runner = spawn(process.execPath, ['bench/run.ts', 'http', '--quick'], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] })
  const exited = new Promise<number | null>((resolve) => runner.once('exit', (code) => resolve(code)))
  // Once a contender has answered its check, it and the load generator are running.
  let stderr = ''
  await new Promise<void>((resolve) => runner.stderr!.on('data', (bytes: Buffer) => {
    stderr += bytes.toString()
    if (stderr.includes('✔')) resolve()
  }))
  const childrenOf = (pid: number): number[] => {
    try {
      return readFileSync(`/proc/${pid}/task/${pid}/children`, 'latin1').trim().split(/\s+/).filter(Boolean).map(Number)
    } catch {
      return []
    }
  }
  let children: number[] = []
  for (let i = 0; i < 2400 && children.length === 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 25))
    children = childrenOf(runner.pid!)
  }
  assert.ok(children.length > 0, 'the runner started a contender')
  runner.kill('SIGINT')
  assert.equal(await exited, 130)
  const alive = children.filter((pid) => {
    try {
      process.kill(pid, 0)
      return !readFileSync(`/proc/${pid}/stat`, 'latin1').includes(') Z ')
    } catch {
      return false
    }
  })
  assert.deepEqual(alive, [], 'no contender is left running')
})

test('the HTTP-layer micro-benchmark runs and serves every request it feeds', async () => {
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, ['bench/micro/http-layer.ts', '16000'], { cwd: root, timeout: 180_000 }, (error, out, stderr) =>
      error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(out),
    )
  })
  assert.equal(stdout.match(/http layer, 16 pipelined GET \/: [\d.]+ ns per request/g)?.length, 5)
})

test('the process ping-pong micro-benchmark runs every step, each reply checked', { skip: process.platform !== 'linux' && 'the steps pin to two cores with taskset and map shared memory through koffi (Linux here)' }, async () => {
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, ['bench/micro/pingpong-process.ts', '1', '20000'], { cwd: root, timeout: 180_000 }, (error, out, stderr) =>
      error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(out),
    )
  })
  // (The C reference is left out, saying so, where no C compiler is found.)
  for (const step of ['slots', 'records', 'channel']) assert.match(stdout, new RegExp(`^${step} +[\\d.]+ M roundtrips/s +([\\d.]+× C|$)`, 'm'))
  assert.match(stdout, /^(C +[\d.]+ M roundtrips\/s +1\.00× C|C skipped: )/m)
})
