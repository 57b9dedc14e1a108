// Runs `npm run bench -- http --quick` so the benchmark harness cannot rot. No timing is asserted: only
// that every contender found is checked and measured, and that the table comes out.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../../', import.meta.url))

function bench(suite: string): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['bench/run.ts', suite, '--quick'], { cwd: root, timeout: 120_000 }, (error, stdout, stderr) =>
      error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve({ stdout, stderr }),
    )
  })
}

test('the http benchmark runs in quick mode and prints its table', async () => {
  const { stdout, stderr } = await bench('http')
  assert.match(stderr, /✔ wirespeed answers GET \/ with 200/)
  assert.match(stderr, /✔ node:http answers GET \/ with 200/)
  assert.match(stdout, /\| wirespeed \| keep-alive \| [\d,]+ \| [\d.]+ \|/)
  assert.match(stdout, /\| wirespeed \| pipelined ×16 \| [\d,]+ \| [\d.]+ \|/)
  assert.match(stdout, /\| node:http \| keep-alive \| [\d,]+ \| [\d.]+ \| [\d,]+ \| 1\.00× \| 1\.00× \|/)
  assert.doesNotMatch(stderr, /errors/)
})

test('the static benchmark runs in quick mode and prints its table', async () => {
  const { stdout, stderr } = await bench('static')
  assert.match(stderr, /✔ wirespeed answers GET \/ with 200 and 50 bytes/)
  assert.match(stderr, /✔ wirespeed answers GET \/large.bin with 200 and 102400 bytes/)
  assert.match(stdout, /\| wirespeed \| 50 B index.html \| [\d,]+ \| [\d.]+ \|/)
  assert.match(stdout, /\| wirespeed \| 100 KiB file \| [\d,]+ \| [\d.]+ \|/)
  assert.doesNotMatch(stderr, /errors/)
})

test('the shm benchmark runs in quick mode, with no integrity errors', async () => {
  const { stdout } = await bench('shm')
  assert.match(stdout, /\| ping-pong between processes \| wirespeed shm \(koffi mapping\) \| [\d,]+ roundtrips\/s \|/)
  assert.match(stdout, /\| ping-pong between threads \| wirespeed thread channel \| [\d,]+ roundtrips\/s \|/)
  assert.match(stdout, /\| stream between processes, batch 30 \| wirespeed process channel \| [\d,]+ messages\/s \|/)
  assert.doesNotMatch(stdout, /errors\)/)
})

test('the tcp benchmark runs in quick mode and prints its table', async () => {
  const { stdout } = await bench('tcp')
  assert.match(stdout, /\| 8 \| wirespeed tcp server \| [\d,]+ \| [\d.]+ \|/)
  assert.match(stdout, /\| 1 \| node:net echo \| [\d,]+ \| [\d.]+ \|/)
})

test('the soak runs in quick mode and every check holds', async () => {
  const { stdout } = await bench('soak')
  assert.match(stdout, /keep-alive requests: RSS growth \| [\d.]+ MiB \| 24\.0 MiB \| ✔ \|/)
  assert.doesNotMatch(stdout, /✘/)
})
