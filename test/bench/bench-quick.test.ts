// Runs `npm run bench -- http --quick` so the benchmark harness cannot rot. No timing is asserted: only
// that every contender found is checked and measured, and that the table comes out.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../../', import.meta.url))

test('the http benchmark runs in quick mode and prints its table', async () => {
  const { stdout, stderr } = await new Promise<{ stdout: string; stderr: string }>((resolve, reject) => {
    execFile(process.execPath, ['bench/run.ts', 'http', '--quick'], { cwd: root, timeout: 120_000 }, (error, stdout, stderr) =>
      error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve({ stdout, stderr }),
    )
  })
  assert.match(stderr, /✔ wirespeed answers GET \/ with 200/)
  assert.match(stderr, /✔ node:http answers GET \/ with 200/)
  assert.match(stdout, /\| wirespeed \| keep-alive \| [\d,]+ \| [\d.]+ \|/)
  assert.match(stdout, /\| wirespeed \| pipelined ×16 \| [\d,]+ \| [\d.]+ \|/)
  assert.match(stdout, /\| node:http \| keep-alive \| [\d,]+ \| [\d.]+ \| 1\.00× \| 1\.00× \|/)
  assert.doesNotMatch(stderr, /errors/)
})
