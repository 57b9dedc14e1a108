import assert from 'node:assert/strict'
import { fstatSync, readSync } from 'node:fs'
import { test } from 'node:test'
import { MemoryFile, roomFor } from '../../src/static/memory-file.ts'

const linux = process.platform === 'linux'

test('MemoryFile.create() copies the bytes into an unlinked file in memory', { skip: !linux && 'no /dev/shm here' }, () => {
  const bytes = Buffer.alloc(100_000, 'memory file ')
  const file = MemoryFile.create(bytes)!
  assert.ok(file !== null)
  try {
    assert.equal(fstatSync(file.fd).size, bytes.length)
    assert.equal(fstatSync(file.fd).nlink, 0, 'unlinked: nothing is left in /dev/shm')
    const back = Buffer.alloc(bytes.length)
    assert.equal(readSync(file.fd, back, 0, back.length, 0), bytes.length)
    assert.ok(back.equals(bytes))
  } finally {
    file.drop()
  }
})

test('MemoryFile closes when dropped with no send holding it, or when the last send is done', { skip: !linux && 'no /dev/shm here' }, () => {
  const idle = MemoryFile.create(Buffer.from('a'))!
  idle.drop()
  assert.ok(idle.closed)
  assert.throws(() => fstatSync(idle.fd), { code: 'EBADF' })

  const busy = MemoryFile.create(Buffer.alloc(20_000, 'b'))!
  busy.acquire()
  busy.acquire()
  busy.drop()
  busy.drop()
  assert.equal(busy.closed, false, 'two sends still hold it')
  assert.equal(fstatSync(busy.fd).size, 20_000)
  busy.release()
  assert.equal(busy.closed, false)
  busy.release()
  assert.ok(busy.closed)
  assert.throws(() => fstatSync(busy.fd), { code: 'EBADF' })
})

test('roomFor() allows a copy that leaves half of /dev/shm free, at N and N+1', () => {
  // 64 MB in all, 40 MB free: a copy of 8 MB leaves exactly half, one byte more does not.
  const total = 64_000_000
  const free = 40_000_000
  assert.equal(roomFor(8_000_000, free, total), true)
  assert.equal(roomFor(8_000_001, free, total), false)
  assert.equal(roomFor(0, total / 2 - 1, total), false)
})
