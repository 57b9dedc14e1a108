/*
 * One contract, run against every kind of channel: a thread channel (SharedArrayBuffer, the peer in a
 * worker thread), a process channel (a named shared-memory object, the peer in a child process, through
 * koffi), and a TCP channel (frames over loopback, the peer in a child process).
 */
import assert from 'node:assert/strict'
import { spawn as spawnProcess } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { after, describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { ChannelInUseError, openChannel, PeerGoneError, spawn, type Channel, type RingChannel } from '../../src/index.ts'
import { assertNoOpenHandles } from '../helpers/raw-client.ts'
import { checksum } from './fixtures/checksum.ts'
import type { PeerJob } from './fixtures/peer.ts'
import { ConnectError } from '../../src/errors.ts'
import { SocketChannel } from '../../src/shm/socket-channel.ts'
import { backendChoice } from '../../src/tcp/backends.ts'

after(assertNoOpenHandles)

const peerModule = new URL('./fixtures/peer.ts', import.meta.url)
const tcpKind = (await backendChoice()).capabilities.rawSockets ? 'on the calling thread, no bridge' : 'frames through a bridge thread'
let names = 0

interface Kind {
  name: string
  /** Opens side A and starts the peer (side B) in `mode`; `done` settles when the peer has finished. */
  open(mode: PeerJob['mode'], count: number, bytes?: number, batch?: number): Promise<{ channel: Channel; done: Promise<unknown> }>
}

const kinds: Kind[] = [
  {
    name: 'thread channel (SharedArrayBuffer)',
    async open(mode, count, bytes = 1 << 16, batch = 1) {
      const channel = await openChannel({ bytes, batch })
      const done = spawn(peerModule, { memory: channel.memory as SharedArrayBuffer, mode, count } satisfies PeerJob).join()
      return { channel, done }
    },
  },
  {
    name: 'process channel (shared-memory object)',
    async open(mode, count, bytes = 1 << 16, batch = 1) {
      const name = `/wirespeed-test-${process.pid}-${++names}`
      const channel = await openChannel({ name, bytes, batch, create: true })
      const child = spawnProcess(process.execPath, [peerModule.pathname, name, mode, String(count)], { stdio: ['ignore', 'inherit', 'inherit'] })
      const done = new Promise((resolve) => child.on('exit', resolve))
      return { channel, done }
    },
  },
  {
    // On the epoll backend the calling thread owns the socket; on node a bridge thread does.
    name: `TCP channel (${tcpKind})`,
    async open(mode, count, bytes = 1 << 16, batch = 1) {
      let child: ReturnType<typeof spawnProcess> | undefined
      let done: Promise<unknown> = Promise.resolve()
      const channel = await openChannel({
        port: 0, listen: true, bytes, batch,
        onListening(port) {
          child = spawnProcess(process.execPath, [peerModule.pathname, `tcp:${port}`, mode, String(count)], { stdio: ['ignore', 'inherit', 'inherit'] })
          done = new Promise((resolve) => child!.on('exit', resolve))
        },
      })
      return { channel, done }
    },
  },
]

for (const kind of kinds) {
  describe(kind.name, () => {
    test('ping-pong: every message comes back intact', async () => {
      const { channel, done } = await kind.open('echo', 10_000)
      const buffer = new Uint8Array(256)
      for (let i = 0; i < 10_000; i++) {
        const sent = Uint8Array.from({ length: 1 + (i % 200) }, (_, j) => (i + j) & 0xff)
        channel.send(sent)
        const length = channel.receiveInto(buffer, 10_000)
        assert.equal(length, sent.length)
        if (i % 997 === 0) assert.deepEqual(buffer.subarray(0, length), sent)
      }
      channel.invariants()
      await done
      channel.close()
    })

    test('integrity: a million messages with sequence numbers and checksums, batched', async () => {
      const count = 1_000_000
      const { channel, done } = await kind.open('verify', count, 1 << 20, 30)
      const buffer = new Uint8Array(64)
      const view = new DataView(buffer.buffer)
      for (let i = 0; i < count; i++) {
        const length = 8 + (i % 48)
        view.setUint32(0, i, true)
        for (let j = 4; j < length - 4; j++) buffer[j] = (i * 7 + j) & 0xff
        view.setUint32(length - 4, checksum(buffer, 0, length - 4), true)
        channel.send(buffer.subarray(0, length))
      }
      channel.flush()
      assert.equal(new TextDecoder().decode(channel.receive(20_000)), `${count},0`)
      await done
      channel.close()
    })

    test('a peer that closes its side is an error for the waiting side, not an endless wait', async () => {
      const { channel, done } = await kind.open('close', 0)
      await done
      assert.throws(() => channel.receive(10_000), PeerGoneError)
      channel.close()
    })

    test('two channels at once', async () => {
      const first = await kind.open('echo', 100)
      const second = await kind.open('echo', 100)
      for (let i = 0; i < 100; i++) {
        first.channel.send(Uint8Array.of(1, i))
        second.channel.send(Uint8Array.of(2, i))
        assert.deepEqual(second.channel.receive(10_000), Uint8Array.of(2, i))
        assert.deepEqual(first.channel.receive(10_000), Uint8Array.of(1, i))
      }
      await Promise.all([first.done, second.done])
      first.channel.close()
      second.channel.close()
    })

    test('receive() with a timeout gives up with ChannelTimeoutError', async () => {
      const { channel, done } = await kind.open('echo', 1)
      assert.throws(() => channel.receive(150), { name: 'ChannelTimeoutError', message: /within 150 ms/ })
      channel.send(Uint8Array.of(1))
      assert.deepEqual(channel.receive(10_000), Uint8Array.of(1))
      await done
      channel.close()
    })

    test('refuses a message over messageBytesMax and use after close', async () => {
      const { channel, done } = await kind.open('close', 0, 1024)
      await done
      assert.throws(() => channel.send(new Uint8Array(channel.messageBytesMax + 1)), /exceeds the (ring|channel)'s messageBytesMax \(508 bytes/)
      channel.close()
      assert.throws(() => channel.send(new Uint8Array(1)), /is closed/)
    })
  })
}

describe('shared-memory waiting', () => {
  test("a sleeping receiver keeps its flag up for the whole wait, and lowers it with the message", async () => {
    // The flag is what a sender looks at to wake it: raised once per wait, it is never missed after the
    // first nap (the publish is a plain store on x64, its flag check a plain load: src/shm/channel.ts).
    const channel = await openChannel({ bytes: 1 << 12 })
    // One message: after its echo the peer ends, so it cannot be waiting (its flag up) for another.
    const peer = spawn(peerModule, { memory: channel.memory as SharedArrayBuffer, mode: 'echo', count: 1 } satisfies PeerJob).join()
    const flag = () => Atomics.load(new Int32Array(channel.memory, 256, 48), 32) // ring A→B's consumerWaiting
    // (Up to 30 s for the worker to start and wait: seconds on a loaded core, and the loop ends at once.)
    for (let tries = 0; flag() !== 1 && tries < 3000; tries++) await sleep(10)
    for (let sample = 0; sample < 6; sample++) {
      assert.equal(flag(), 1, 'up while the receiver sleeps, across its 100 ms naps')
      await sleep(45)
    }
    channel.send(new TextEncoder().encode('after a long wait'))
    assert.equal(new TextDecoder().decode(channel.receive(10_000)), 'after a long wait')
    assert.equal(flag(), 0, 'lowered once the message is taken')
    await peer
    channel.close()
  })

  test('a receive that times out lowers its flag', async () => {
    const channel = (await openChannel({ bytes: 1 << 12 })) as RingChannel
    assert.throws(() => channel.receive(150), /No message on channel within 150 ms/)
    assert.equal(Atomics.load(new Int32Array(channel.memory, 256 + 192 + (1 << 12), 48), 32), 0) // ring B→A, side A's
    await assert.rejects(channel.receiveAsync(150), /No message on channel within 150 ms/)
    assert.equal(Atomics.load(new Int32Array(channel.memory, 256 + 192 + (1 << 12), 48), 32), 0)
    channel.close()
  })
})

describe('a channel that side A keeps for the next side B', () => {
  test('the next side B after a reset gets only what is sent to it, in order, whole, however far the rings had gone', async () => {
    const { attachChannel, threadChannel } = await import('../../src/shm/channel.ts')
    const { threadSleeper } = await import('../../src/shm/memory.ts')
    for (const batch of [1, 4]) {
      const a = threadChannel(256, batch)
      const first = attachChannel(a.memory, batch, threadSleeper)
      // More than a lap of records of changing sizes, both ways, the last few left unread: stale bytes all over
      // both rings. (One thread: every send must find room, so the other side reads as it goes.)
      for (let i = 0; i < 23; i++) {
        a.send(new Uint8Array((i * 5) % 30).fill(i + 1))
        first.send(new Uint8Array((i * 3) % 30).fill(i + 1))
        a.flush()
        first.flush()
        if (i < 20) assert.ok(first.tryReceive() && a.tryReceive())
      }
      first.close()
      a.resetForNextPeer()
      const next = attachChannel(a.memory, batch, threadSleeper)
      assert.equal(next.tryReceive(), undefined, 'nothing from before the reset')
      for (let i = 0; i < 40; i++) {
        a.send(new Uint8Array(1 + (i % 20)).fill(200 + (i % 50)))
        a.flush()
        assert.deepEqual(next.receive(1000), new Uint8Array(1 + (i % 20)).fill(200 + (i % 50)))
        next.send(new Uint8Array(2 + (i % 9)).fill(i))
        next.flush()
        assert.deepEqual(a.receive(1000), new Uint8Array(2 + (i % 9)).fill(i))
        assert.equal(next.tryReceive(), undefined)
      }
      a.invariants()
      next.close()
      a.close()
    }
  })
})

describe('TCP channels', () => {
  test('on the epoll backend the channel is the caller\'s own socket (no bridge thread), elsewhere the bridge', async () => {
    const { channel, done } = await kinds[2]!.open('echo', 1)
    assert.equal(channel instanceof SocketChannel, tcpKind === 'on the calling thread, no bridge')
    channel.send(Uint8Array.of(7))
    assert.deepEqual(channel.receive(10_000), Uint8Array.of(7))
    await done
    channel.close()
  })

  test('a sender whose peer stops reading waits (backpressure), and goes on once it reads', async () => {
    const { channel, done } = await kinds[2]!.open('verify', 3000, 1 << 16)
    // 3,000 messages of ~4 KiB: far more than the socket buffers hold while the peer starts up.
    const buffer = new Uint8Array(4096)
    const view = new DataView(buffer.buffer)
    for (let i = 0; i < 3000; i++) {
      view.setUint32(0, i, true)
      view.setUint32(buffer.length - 4, checksum(buffer, 0, buffer.length - 4), true)
      channel.send(buffer)
    }
    channel.flush()
    assert.equal(new TextDecoder().decode(channel.receive(20_000)), '3000,0')
    await done
    channel.close()
  })

  test('connecting to a port nobody listens on fails, saying so', async () => {
    const listener = await import('node:net').then(({ createServer }) => new Promise<import('node:net').Server>((resolve) => { const server = createServer(); server.listen(0, '127.0.0.1', () => resolve(server)) }))
    const port = (listener.address() as import('node:net').AddressInfo).port
    await new Promise((resolve) => listener.close(resolve))
    await assert.rejects(openChannel({ port }), (error: Error) => error instanceof ConnectError || error.name === 'BridgeError')
  })
})

describe('process channels', () => {
  test('a peer process that dies is reported while waiting', async () => {
    const { channel } = await kinds[1]!.open('die', 0)
    const ring = channel as RingChannel
    // (A child process that loads koffi takes seconds to attach on a loaded core: up to 30 s.)
    for (let i = 0; i < 3000 && !ring.peerAttached; i++) await sleep(10)
    assert.ok(ring.peerAttached)
    assert.throws(() => channel.receive(10_000), /process \d+\) died/)
    channel.close()
  })

  test('a build with another layout refuses to talk', async () => {
    const name = `/wirespeed-test-${process.pid}-${++names}`
    const channel = await openChannel({ name, bytes: 1024 })
    new Int32Array(channel.memory, 0, 2)[1] = 99
    await assert.rejects(openChannel({ name, create: false }), /made by another build .*layout 99; expected [0-9a-f]+, layout 2\): they refuse to talk/)
    channel.close()
  })

  test('opening a channel nobody made says so', async () => {
    await assert.rejects(openChannel({ name: '/wirespeed-test-nobody', create: false }), /No channel named \/wirespeed-test-nobody: start the side that creates it first/)
  })

  test('creating a channel whose creator is alive fails, naming the process; the first one keeps working', async () => {
    const name = `/wirespeed-test-${process.pid}-${++names}`
    const first = await openChannel({ name, bytes: 1024 })
    await assert.rejects(openChannel({ name, bytes: 1024 }), (error: unknown) => {
      assert.ok(error instanceof ChannelInUseError)
      assert.equal(error.code, 'CHANNEL_IN_USE')
      assert.equal(error.pid, process.pid)
      assert.match(error.message, new RegExp(`Channel ${name} is in use: its creator, process ${process.pid}, is running`))
      return true
    })
    const second = await openChannel({ name, create: false })
    second.send(Uint8Array.of(7))
    assert.deepEqual(first.receive(1000), Uint8Array.of(7))
    second.close()
    first.close()
  })

  test("a dead creator's channel is replaced", async () => {
    const name = `/wirespeed-test-${process.pid}-${++names}`
    const source = `import { openChannel } from ${JSON.stringify(new URL('../../src/index.ts', import.meta.url).href)}
      await openChannel({ name: ${JSON.stringify(name)}, bytes: 1024 }); process.kill(process.pid, 'SIGKILL')`
    const child = spawnProcess(process.execPath, ['--input-type=module', '-e', source], { stdio: 'inherit' })
    await new Promise((resolve) => child.on('exit', resolve))
    assert.ok(readdirSync('/dev/shm').includes(name.slice(1)), 'the dead creator left its object behind')
    const channel = await openChannel({ name, bytes: 1024 })
    channel.close()
  })

  test('nothing is left in /dev/shm', () => {
    assert.deepEqual(readdirSync('/dev/shm').filter((file) => file.startsWith(`wirespeed-test-${process.pid}-`)), [])
  })
})
