import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { Ring, ringBytes } from '../../src/index.ts'

const capacity = 64
const message = (length: number, seed: number) => Uint8Array.from({ length }, (_, i) => (seed * 31 + i) & 0xff)

describe('Ring', () => {
  test('carries messages across every wrap-around offset, of every size up to the maximum', () => {
    const ring = new Ring(new SharedArrayBuffer(ringBytes(capacity)), 0, capacity)
    assert.equal(ring.messageBytesMax, capacity / 2 - 4)
    const target = new Uint8Array(capacity)
    let seed = 0
    // Advance the indices 4 bytes at a time through two full turns, sending each size at each offset.
    for (let offset = 0; offset < 2 * capacity; offset += 4) {
      for (let length = 0; length <= ring.messageBytesMax; length++) {
        const sent = message(length, ++seed)
        assert.equal(ring.send(sent), true)
        ring.invariants()
        assert.equal(ring.receiveInto(target), length)
        assert.deepEqual(target.subarray(0, length), sent, `length ${length} at offset ${offset}`)
        assert.equal(ring.receiveInto(target), -1) // finding the ring empty releases the room
      }
      assert.equal(ring.send(new Uint8Array(0)), true)
      assert.equal(ring.receiveInto(target), 0) // moves the indices on by one 4-byte record
      ring.invariants()
    }
  })

  test('copies alike from and into aligned, unaligned, reused and resizable memory, touching no byte past the message', () => {
    const ring = new Ring(new SharedArrayBuffer(ringBytes(capacity)), 0, capacity)
    const resizable = new ArrayBuffer(40, { maxByteLength: 80 })
    const sources = [new Uint8Array(28), new Uint8Array(40).subarray(1, 29), new Uint8Array(resizable, 0, 28), new Uint8Array(resizable, 4)]
    const targets = [new Uint8Array(40), new Uint8Array(40).subarray(3), new Uint8Array(new ArrayBuffer(40, { maxByteLength: 80 }))]
    let seed = 0
    for (let round = 0; round < 3; round++) {
      for (const source of sources) {
        for (const target of targets) {
          for (let length = 0; length <= 28; length++) {
            // The same source object is sent again with new contents: a kept view must see them.
            source.set(message(length, ++seed))
            target.fill(0xee)
            assert.equal(ring.send(source, length), true)
            assert.equal(ring.receiveInto(target), length)
            assert.deepEqual(target.subarray(0, length), source.subarray(0, length), `length ${length}, round ${round}`)
            assert.ok(target.subarray(length).every((byte) => byte === 0xee), `bytes past the message are untouched (length ${length})`)
          }
        }
      }
      if (round === 0) resizable.resize(80) // the length-tracking source grows: still copied whole
    }
    ring.invariants()
  })

  test('carries messages across the 2^31 and 2^32 index boundaries (2 and 4 GiB sent)', () => {
    for (const start of [2 ** 31 - 96, 2 ** 32 - 96]) {
      const memory = new SharedArrayBuffer(ringBytes(capacity))
      const words = new Int32Array(memory, 0, 48)
      words[0] = words[16] = start | 0 // head and tail, as a channel that has carried `start` bytes leaves them
      const producer = new Ring(memory, 0, capacity)
      const consumer = new Ring(memory, 0, capacity)
      const target = new Uint8Array(capacity)
      for (let seed = 0; seed < 40; seed++) {
        const sent = message(1 + (seed % 20), seed)
        assert.equal(producer.send(sent), true)
        producer.invariants()
        assert.equal(consumer.receiveInto(target), sent.length)
        assert.deepEqual(target.subarray(0, sent.length), sent, `message ${seed} from ${start}`)
        if (seed % 3 === 0) consumer.release()
      }
      consumer.release()
      assert.equal(((Atomics.load(words, 0) - start) >>> 0) > 96, true) // the head went past the boundary
    }
  })

  test('refuses a length past the message it is given, or a negative one', () => {
    const ring = new Ring(new SharedArrayBuffer(ringBytes(capacity)), 0, capacity)
    assert.throws(() => ring.send(new Uint8Array(4), 5), /Invalid length 5: expected 0 to the message's 4 bytes/)
    assert.throws(() => ring.send(new Uint8Array(4), -1), /Invalid length -1/)
    const detached = new Uint8Array(new ArrayBuffer(8))
    assert.equal(ring.send(detached), true)
    structuredClone(detached.buffer, { transfer: [detached.buffer] })
    assert.throws(() => ring.send(detached, 8), /Invalid length 8: expected 0 to the message's 0 bytes/)
    ring.invariants()
  })

  test('accepts messageBytesMax and refuses one byte more, naming the limit', () => {
    const ring = new Ring(new SharedArrayBuffer(ringBytes(capacity)), 0, capacity)
    assert.equal(ring.send(new Uint8Array(ring.messageBytesMax)), true)
    assert.throws(() => ring.send(new Uint8Array(ring.messageBytesMax + 1)), /exceeds the ring's messageBytesMax \(28 bytes: half the capacity\)/)
  })

  test('reports full instead of overwriting, and frees room once the consumer releases it', () => {
    const memory = new SharedArrayBuffer(ringBytes(capacity))
    const producer = new Ring(memory, 0, capacity)
    const consumer = new Ring(memory, 0, capacity)
    let sent = 0
    while (producer.send(message(12, sent))) sent++
    // Records of 16 bytes, and 4 bytes kept free past the last one for the next record's length word.
    assert.equal(sent, capacity / 16 - 1)
    producer.invariants()
    assert.deepEqual(consumer.receive(), message(12, 0))
    // Room is released lazily (every 32 messages, a quarter of the capacity, or on release()).
    consumer.release()
    assert.equal(producer.send(message(12, 99)), true)
    for (let i = 1; i < sent; i++) assert.deepEqual(consumer.receive(), message(12, i))
    assert.deepEqual(consumer.receive(), message(12, 99))
    assert.equal(consumer.receive(), undefined)
    consumer.invariants()
  })

  test('room is released every quarter of the capacity read: large messages never leave the producer stuck', () => {
    // Messages of an eighth of the ring: far fewer than 32 fill it, so the count alone would never release.
    const big = 4096
    const memory = new SharedArrayBuffer(ringBytes(big * 8))
    const producer = new Ring(memory, 0, big * 8)
    const consumer = new Ring(memory, 0, big * 8)
    const payload = new Uint8Array(big - 4) // a record of exactly 4 KiB with its length word
    let sent = 0
    while (producer.send(payload)) sent++
    assert.ok(sent >= 7, `sent ${sent}`)
    // Two read: a quarter of the capacity, released at once, so the producer has room again.
    consumer.receive()
    consumer.receive()
    assert.equal(producer.send(payload), true)
    while (consumer.receive() !== undefined) {}
    // Every quarter read was released: a whole ring's worth fits again.
    let again = 0
    while (producer.send(payload)) again++
    assert.ok(again >= 7, `room for ${again} after the ring was read empty`)
    producer.invariants()
    consumer.invariants()
  })

  test('batching publishes every N messages or on flush()', () => {
    const memory = new SharedArrayBuffer(ringBytes(1024))
    const producer = new Ring(memory, 0, 1024, 3)
    const consumer = new Ring(memory, 0, 1024)
    producer.send(message(5, 1))
    producer.send(message(5, 2))
    assert.equal(consumer.readable, false)
    producer.send(message(5, 3))
    assert.equal(consumer.readable, true)
    producer.send(message(5, 4))
    for (let i = 1; i <= 3; i++) assert.deepEqual(consumer.receive(), message(5, i))
    assert.equal(consumer.receive(), undefined)
    producer.flush()
    assert.deepEqual(consumer.receive(), message(5, 4))
  })

  test('any sequence of sends, flushes, receives and releases, batched or not, from any start: first in, first out, whole, and every invariant after every step', () => {
    const operation = fc.oneof(
      { weight: 4, arbitrary: fc.record({ kind: fc.constant('send' as const), length: fc.nat(200), from: fc.constantFrom('new aligned', 'new unaligned', 'reused', 'reused' as const) }) },
      { weight: 3, arbitrary: fc.record({ kind: fc.constantFrom('receive' as const, 'receiveInto' as const) }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constantFrom('flush' as const, 'release' as const) }) },
    )
    fc.assert(
      fc.property(fc.constantFrom(64, 128, 256, 1024), fc.integer({ min: 1, max: 5 }), fc.constantFrom(0, 2 ** 31 - 64, 2 ** 32 - 64), fc.array(operation, { maxLength: 300 }), (capacity, batch, start, operations) => {
        const memory = new SharedArrayBuffer(ringBytes(capacity))
        const control = new Int32Array(memory, 0, 48)
        control[0] = control[16] = start | 0 // head and tail, as a channel that has carried `start` bytes leaves them
        const producer = new Ring(memory, 0, capacity, batch)
        const consumer = new Ring(memory, 0, capacity)
        const sent: Uint8Array[] = [] // in order, not yet received
        let published = 0 // how many of `sent` the consumer may see
        let unpublished = 0
        let seed = 0
        const target = new Uint8Array(capacity)
        const reused = new Uint8Array(capacity) // sent again and again, as a loop does: the fast path
        for (const step of operations) {
          if (step.kind === 'send') {
            const length = step.length % (Math.min(producer.messageBytesMax, step.from === 'reused' ? 64 : Infinity) + 1) // reused: small, as a loop's
            const message = step.from === 'reused' ? reused : step.from === 'new aligned' ? new Uint8Array(length) : new Uint8Array(length + 1).subarray(1)
            for (let i = 0; i < length; i++) message[i] = (++seed * 7) & 0xff
            if (producer.send(message, length)) {
              sent.push(message.slice(0, length))
              if (++unpublished === batch) (published += unpublished), (unpublished = 0)
            } else (published += unpublished), (unpublished = 0) // a full ring publishes what it holds
          } else if (step.kind === 'flush') {
            producer.flush()
            published += unpublished
            unpublished = 0
          } else if (step.kind === 'release') consumer.release()
          else {
            const got = step.kind === 'receive' ? consumer.receive() : ((length) => (length < 0 ? undefined : target.slice(0, length)))(consumer.receiveInto(target))
            if (published === 0) assert.equal(got, undefined)
            else {
              assert.deepEqual(got, sent.shift())
              published--
            }
          }
          producer.invariants()
          consumer.invariants()
        }
      }),
      { numRuns: 300 },
    )
  })

  test('a look at the ring just emptied finds nothing, lap after lap of records of changing sizes (nothing stale past the last record)', () => {
    for (const batch of [1, 3]) {
      const capacity = 256
      const memory = new SharedArrayBuffer(ringBytes(capacity))
      const producer = new Ring(memory, 0, capacity, batch)
      const consumer = new Ring(memory, 0, capacity)
      const reused = new Uint8Array(64) // the same array each time, as a sending loop's: the fast path
      const target = new Uint8Array(64)
      let seed = 0
      for (let i = 0; i < 300; i++) {
        const length = (i * 7) % 41
        for (let k = 0; k < length; k++) reused[k] = (++seed % 255) + 1
        assert.equal(producer.send(reused, length), true)
        producer.flush()
        assert.equal(consumer.receiveInto(target), length, `message ${i}`)
        assert.deepEqual(target.subarray(0, length), reused.subarray(0, length))
        assert.equal(consumer.receiveInto(target), -1, `nothing after message ${i}`)
        producer.invariants()
      }
    }
  })

  test("a batching producer's record is read by receive(), receiveInto() and readable alike only once its publish reaches the head", () => {
    const memory = new SharedArrayBuffer(ringBytes(256))
    const producer = new Ring(memory, 0, 256, 4)
    const consumer = new Ring(memory, 0, 256)
    const sent = message(5, 1)
    producer.send(sent)
    producer.flush()
    // The moment between the publish's two stores: the record's length word is written, the head not yet.
    const head = Atomics.load(producer.words, 0)
    Atomics.store(producer.words, 0, 0)
    assert.equal(consumer.readable, false)
    assert.equal(consumer.receive(), undefined)
    assert.equal(consumer.receiveInto(new Uint8Array(8)), -1)
    Atomics.store(producer.words, 0, head)
    assert.equal(consumer.readable, true)
    assert.deepEqual(consumer.receive(), sent)
    assert.equal(consumer.receive(), undefined)
    consumer.invariants()
  })

  test('a length word no producer wrote is refused, naming the limit, not allocated', () => {
    const memory = new SharedArrayBuffer(ringBytes(capacity))
    const consumer = new Ring(memory, 0, capacity)
    new Int32Array(memory, 192, 1)[0] = 0x7fff_0000 // something else wrote over the ring's first record
    assert.throws(() => consumer.receive(), /Record of \d+ bytes at 0 is over this ring's messageBytesMax \(28\): its memory was written by something else/)
    assert.throws(() => consumer.receiveInto(new Uint8Array(64)), /over this ring's messageBytesMax/)
  })

  test('refuses a capacity that is not a power of two, and a bad offset', () => {
    assert.throws(() => new Ring(new ArrayBuffer(4096), 0, 100), /expected a power of two/)
    assert.throws(() => new Ring(new ArrayBuffer(4096), 32, 64), /Invalid ring offset 32/)
  })
})
