import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { encodeFrame, FrameDecoder, FrameError } from '../../src/index.ts'

const messages = [Buffer.from(''), Buffer.from('a'), Buffer.from('hello, framing'), Buffer.alloc(300, 7), Buffer.from('end')]
const stream = Buffer.concat(messages.map((message) => encodeFrame(message)))

function decode(pieces: Buffer[], max = 1024): Buffer[] {
  const decoder = new FrameDecoder(max)
  const out: Buffer[] = []
  for (const piece of pieces) decoder.push(piece, (message) => out.push(Buffer.from(message)))
  assert.equal(decoder.partial, false)
  return out
}

describe('FrameDecoder', () => {
  test('reassembles frames split or merged at every byte', () => {
    assert.deepEqual(decode([stream]), messages)
    for (let cut = 1; cut < stream.length; cut++) {
      assert.deepEqual(decode([stream.subarray(0, cut), stream.subarray(cut)]), messages, `cut at ${cut}`)
    }
    assert.deepEqual(decode(Array.from(stream, (byte) => Buffer.from([byte]))), messages)
  })

  test('hands a frame that sits inside one read over without copying it', () => {
    const read = encodeFrame(Buffer.from('zero copy'))
    const decoder = new FrameDecoder(100)
    let seen: Buffer | undefined
    decoder.push(read, (message) => (seen = message))
    assert.equal(seen!.buffer, read.buffer)
    assert.equal(seen!.toString(), 'zero copy')
  })

  test('accepts a frame of messageBytesMax and refuses one byte more, before its bytes arrive', () => {
    assert.equal(decode([encodeFrame(Buffer.alloc(16))], 16)[0]!.length, 16)
    const decoder = new FrameDecoder(16)
    assert.throws(() => decoder.push(encodeFrame(Buffer.alloc(17)).subarray(0, 4), () => {}), (error: Error) => {
      assert.ok(error instanceof FrameError)
      assert.equal(error.message, 'Frame of 17 bytes exceeds messageBytesMax (16 bytes)')
      return true
    })
  })

  test('refuses a bad limit', () => {
    assert.throws(() => new FrameDecoder(-1), /Invalid option messageBytesMax/)
  })
})
