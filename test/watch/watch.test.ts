import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { watch, type Change } from '../../src/watch/index.ts'
import { assertNoOpenHandles } from '../helpers/raw-client.ts'

after(assertNoOpenHandles)

/** Watches a fresh folder; `next(match)` waits (bounded) for a batch containing a matching change. */
function watched(options: Parameters<typeof watch>[1] = {}) {
  const root = mkdtempSync(join(tmpdir(), 'wirespeed-watch-'))
  const seen: Change[] = []
  let wake = () => {}
  const stop = watch(root, { debounceMs: 20, ...options }, (changes) => {
    seen.push(...changes)
    wake()
  })
  return {
    root,
    seen,
    async next(match: (change: Change) => boolean, what: string): Promise<Change> {
      // (Returns at the change; the bound holds on a loaded machine, where a report can take seconds.)
      const deadline = Date.now() + 30_000
      for (;;) {
        const found = seen.find(match)
        if (found) return found
        if (Date.now() > deadline) throw new Error(`No ${what} within 30 s; saw ${JSON.stringify(seen)}`)
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 100)
          wake = () => (clearTimeout(timer), resolve())
        })
      }
    },
    close() {
      stop()
      rmSync(root, { recursive: true, force: true })
    },
  }
}

describe('watch()', () => {
  test('reports creations, changes, deletions and renames', async () => {
    const w = watched()
    try {
      const file = join(w.root, 'a.txt')
      writeFileSync(file, 'one')
      await w.next((c) => c.type === 'create' && c.path === file, 'create')
      writeFileSync(file, 'two, longer')
      await w.next((c) => c.type === 'change' && c.path === file, 'change')
      const moved = join(w.root, 'b.txt')
      renameSync(file, moved)
      const rename = await w.next((c) => c.type === 'rename', 'rename')
      assert.deepEqual(rename, { type: 'rename', path: moved, from: file })
      rmSync(moved)
      await w.next((c) => c.type === 'delete' && c.path === moved, 'delete')
    } finally {
      w.close()
    }
  })

  test('follows folders created later, and what they hold', async () => {
    const w = watched()
    try {
      const folder = join(w.root, 'sub', 'deeper')
      mkdirSync(folder, { recursive: true })
      writeFileSync(join(folder, 'early.txt'), 'x')
      await w.next((c) => c.path === join(folder, 'early.txt'), 'the file in the new folder')
      writeFileSync(join(folder, 'late.txt'), 'y')
      await w.next((c) => c.type === 'create' && c.path === join(folder, 'late.txt'), 'a file created in the followed folder')
    } finally {
      w.close()
    }
  })

  test('coalesces a burst into one batch and reports an overflow as rescan, never dropping it', async () => {
    const w = watched({ eventsMax: 5, debounceMs: 50 })
    try {
      for (let i = 0; i < 20; i++) writeFileSync(join(w.root, `f${i}`), 'x')
      const rescan = await w.next((c) => c.type === 'rescan', 'rescan')
      assert.equal(rescan.path, w.root)
    } finally {
      w.close()
    }
  })

  test('reports rescan when the tree has more folders than foldersMax', async () => {
    const root = mkdtempSync(join(tmpdir(), 'wirespeed-watch-'))
    for (let i = 0; i < 4; i++) mkdirSync(join(root, `d${i}`))
    const batches: Change[][] = []
    const stop = watch(root, { foldersMax: 2 }, (changes) => batches.push(changes))
    await new Promise((resolve) => setTimeout(resolve, 50))
    stop()
    rmSync(root, { recursive: true, force: true })
    assert.deepEqual(batches, [[{ type: 'rescan', path: root }]])
  })

  test('watches a single file', async () => {
    const root = mkdtempSync(join(tmpdir(), 'wirespeed-watch-'))
    const file = join(root, 'one.txt')
    writeFileSync(file, 'a')
    const seen: Change[] = []
    const stop = watch(file, { debounceMs: 10 }, (changes) => seen.push(...changes))
    try {
      writeFileSync(file, 'bb')
      for (let i = 0; i < 1500 && seen.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 20))
      assert.deepEqual(seen[0], { type: 'change', path: file })
    } finally {
      stop()
      rmSync(root, { recursive: true, force: true })
    }
  })

  test('refuses a missing path and bad options with clear messages', () => {
    assert.throws(() => watch('/no/such/path', {}, () => {}), /Cannot watch \/no\/such\/path: it does not exist/)
    assert.throws(() => watch(tmpdir(), { debounceMs: -1 }, () => {}), /Invalid option debounceMs/)
  })
})
