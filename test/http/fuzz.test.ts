import assert from 'node:assert/strict'
import { test } from 'node:test'
import { fuzzParser } from '../../bench/fuzz/parser.ts'

test('the parser fuzz target runs a seeded, bounded round: only HttpError, never a hang', () => {
  const result = fuzzParser({ iterations: 30_000, seed: 7 })
  assert.equal(result.iterations, 30_000)
  assert.ok(result.refused > 0 && result.accepted > 0, JSON.stringify(result))
})
