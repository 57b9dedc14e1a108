import assert from 'node:assert/strict'
import { fstatSync, readSync } from 'node:fs'
import { test } from 'node:test'
import { MemoryFile } from '../../src/static/memory-file.ts'

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
