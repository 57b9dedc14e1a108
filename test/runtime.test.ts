import assert from 'node:assert/strict'
import { test } from 'node:test'
import { NodeTooOldError } from '../src/index.ts'
import { requireNode, versionAtLeast } from '../src/runtime.ts'

test('versionAtLeast() compares release numbers part by part', () => {
  assert.equal(versionAtLeast('22.12.0', '22.12'), true)
  assert.equal(versionAtLeast('v22.11.9', '22.12'), false)
  assert.equal(versionAtLeast('26.0.0', '22.12'), true)
  assert.equal(versionAtLeast('20.20.2', '22.12'), false)
  assert.equal(versionAtLeast('22.12.1', '22.12.1'), true)
})

test('requireNode() says what the feature needs and what is running (Node 20 asking for --workers)', () => {
  assert.throws(() => requireNode('--workers', '22.12', '20.20.2'), (error: unknown) => {
    assert.ok(error instanceof NodeTooOldError)
    assert.equal(error.code, 'NODE_TOO_OLD')
    assert.equal(error.message, '--workers needs Node 22.12 or later (this is 20.20.2)')
    return true
  })
  requireNode('--workers', '22.12')
})
