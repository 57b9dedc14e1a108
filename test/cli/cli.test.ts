import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../../', import.meta.url))

function wirespeed(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['bin/wirespeed.js', ...args], { cwd: root, timeout: 30_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    )
  })
}

test('wirespeed --help lists every command', async () => {
  const { code, stdout } = await wirespeed('--help')
  assert.equal(code, 0)
  for (const command of ['serve', 'bench', 'shm', 'tcp', 'watch', 'lookup']) assert.match(stdout, new RegExp(`^  ${command} `, 'm'))
})

test('wirespeed with an unknown command says what it expected and exits 2', async () => {
  const { code, stderr } = await wirespeed('nope')
  assert.equal(code, 2)
  assert.match(stderr, /unknown command "nope": expected one of serve, bench/)
})
