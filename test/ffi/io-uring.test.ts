/*
 * io_uring through koffi (src/ffi/io-uring.ts), on real sockets over loopback: a NOP round trip, many
 * completions in one enter, multishot accept + multishot receive into a provided buffer ring + send
 * echoing to a node:net client (driven from JavaScript: the ring's eventfd watched in Node's own libuv
 * loop where that watch loads, else polled between turns of Node's loop, never blocking it), buffers
 * recycled (more messages than buffers, a message larger than a buffer), close. Skipped, saying why, where
 * the kernel refuses io_uring (seccomp, kernel.io_uring_disabled) or koffi is missing.
 */
import assert from 'node:assert/strict'
import { readdirSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import { test } from 'node:test'
import { loadKoffi } from '../../src/ffi/koffi.ts'
import {
  IORING_CQE_BUFFER_SHIFT,
  IORING_CQE_F_BUFFER,
  IORING_CQE_F_MORE,
  IORING_SETUP_COOP_TASKRUN,
  IORING_SETUP_DEFER_TASKRUN,
  IORING_SETUP_TASKRUN_FLAG,
  IORING_SQ_TASKRUN,
  IoUring,
  ioUringSupport,
  readDisabled,
  refusal,
} from '../../src/ffi/io-uring.ts'

const support = await ioUringSupport()
const skip = support.ok ? false : support.reason
const ENOBUFS = 105

/** A listening TCP socket on 127.0.0.1, made through koffi (io_uring accepts on it). */
async function listenSocket(): Promise<{ fd: number; port: number; close(): void }> {
  const ffi = await loadKoffi('This test', 'none')
  const lib = ffi.load('libc.so.6')
  const socket = lib.func('int socket(int domain, int type, int protocol)')
  const setsockopt = lib.func('int setsockopt(int fd, int level, int name, void *value, uint32_t length)')
  const bind = lib.func('int bind(int fd, void *address, uint32_t length)')
  const listen = lib.func('int listen(int fd, int backlog)')
  const getsockname = lib.func('int getsockname(int fd, void *address, void *length)')
  const close = lib.func('int close(int fd)')
  const fd = socket(2, 1 | 0o2000000, 0) as number
  assert.ok(fd >= 0)
  const one = Buffer.alloc(4)
  one.writeInt32LE(1)
  setsockopt(fd, 1, 2, one, 4)
  const address = Buffer.alloc(16)
  address.writeUInt16LE(2, 0)
  Buffer.from([127, 0, 0, 1]).copy(address, 4)
  assert.equal(bind(fd, address, 16), 0)
  assert.equal(listen(fd, 128), 0)
  const length = Buffer.alloc(4)
  length.writeUInt32LE(16)
  getsockname(fd, address, length)
  return { fd, port: address.readUInt16BE(2), close: () => close(fd) }
}

function openFds(): number {
  return readdirSync('/proc/self/fd').length
}

/** The libuv watch of Node's loop (main: src/tcp/epoll/; after the layout change: src/ffi/), if it loads. */
async function loadWatch(): Promise<((ffi: unknown, fd: number, onReady: () => void) => { start(): void; stop(): void } | undefined) | undefined> {
  for (const path of ['../../src/ffi/node-loop-watch.ts', '../../src/tcp/epoll/node-loop-watch.ts']) {
    try {
      const module = await import(new URL(path, import.meta.url).href)
      return module.watchInNodeLoop
    } catch {}
  }
  return undefined
}

test('ioUringSupport() says whether io_uring runs here, and refusal() names the cause', async () => {
  if (support.ok) assert.ok(support.features > 0)
  else assert.ok(support.reason.length > 0)
  assert.match(refusal(38), /ENOSYS/)
  assert.match(refusal(1), /EPERM.*seccomp or kernel\.io_uring_disabled/)
  const disabled = readDisabled()
  if (disabled !== undefined) assert.ok([0, 1, 2].includes(disabled))
})

test('a NOP makes the round trip: its user_data comes back with result 0', { skip }, async () => {
  const ring = await IoUring.open(8)
  try {
    ring.nop(42)
    assert.equal(ring.pending, 1)
    const seen: number[][] = []
    ring.submitAndWait(1, (userData, result, flags) => seen.push([userData, result, flags]))
    assert.deepEqual(seen, [[42, 0, 0]])
    assert.equal(ring.pending, 0)
  } finally {
    ring.close()
  }
})

test('many completions in one enter: more NOPs than the SQ holds, all reaped by submitAndReap()', { skip }, async () => {
  const ring = await IoUring.open(64)
  try {
    assert.equal(ring.sqEntries, 64)
    assert.equal(ring.cqEntries, 128)
    // 100 > 64: the 65th SQE submits the first 64 on its own (the CQ, 128, holds all 100).
    for (let i = 0; i < 100; i++) ring.nop(i)
    const seen: number[] = []
    const reaped = ring.submitAndReap((userData, result) => {
      assert.equal(result, 0)
      seen.push(userData)
    })
    assert.equal(reaped, 100)
    assert.deepEqual(seen, Array.from({ length: 100 }, (_, i) => i))
  } finally {
    ring.close()
  }
})

test('close() unmaps the rings and closes the ring fd and its eventfd', { skip }, async () => {
  const before = openFds()
  const ring = await IoUring.open(16)
  ring.bufferRing(3, 4, 256)
  assert.equal(openFds(), before + 2)
  ring.close()
  ring.close()
  assert.equal(openFds(), before)
})

/** Tags in user_data: low 3 bits the kind, the rest the fd. */
const ACCEPT = 1
const RECV = 2
const SEND = 3
const CLOSE = 4

/**
 * An echo server on one ring: multishot accept, multishot receive into a buffer ring of `buffers` ×
 * `bufferBytes`, each receive's bytes copied, the buffer recycled at once, the copy sent (kept alive
 * until its completion).
 */
async function echoServer(buffers: number, bufferBytes: number, setupFlags?: readonly number[]) {
  const ffi = await loadKoffi('This test', 'none')
  const listener = await listenSocket()
  const ring = await IoUring.open(64, setupFlags)
  const pool = ring.bufferRing(1, buffers, bufferBytes)
  const sending = new Map<number, Buffer[]>()
  const state = { accepted: 0, received: 0, recycled: 0, rearmed: 0, closed: 0, turns: 0, sends: 0 }
  const handle = (userData: number, result: number, flags: number) => {
    const kind = userData & 7
    const fd = userData >>> 3
    if (kind === ACCEPT) {
      assert.ok(result >= 0, `accept failed: ${result}`)
      assert.ok(flags & IORING_CQE_F_MORE, 'multishot accept stays armed')
      state.accepted++
      ring.recv(result, pool.group, (result << 3) | RECV, true)
    } else if (kind === RECV) {
      if (flags & IORING_CQE_F_BUFFER) {
        const id = flags >>> IORING_CQE_BUFFER_SHIFT
        const copy = Buffer.allocUnsafeSlow(result)
        copy.set(pool.view(id, result))
        pool.recycle(id)
        state.recycled++
        state.received += result
        const queue = sending.get(fd) ?? []
        queue.push(copy)
        sending.set(fd, queue)
        ring.send(fd, ffi.address(copy), copy.length, (fd << 3) | SEND)
      }
      if (result === 0) ring.closeFd(fd, (fd << 3) | CLOSE)
      else if (!(flags & IORING_CQE_F_MORE)) {
        // The ring ran dry (ENOBUFS) or the kernel ended the multishot: buffers are back, arm it again.
        assert.ok(result > 0 || result === -ENOBUFS, `recv failed: ${result}`)
        state.rearmed++
        ring.recv(fd, pool.group, (fd << 3) | RECV, true)
      }
    } else if (kind === SEND) {
      const copy = sending.get(fd)!.shift()!
      assert.equal(result, copy.length, 'a small send goes whole')
      state.sends++
    } else if (kind === CLOSE) {
      assert.equal(result, 0)
      state.closed++
    }
  }
  ring.accept(listener.fd, ACCEPT, true)
  // One turn: read the eventfd first (a completion after the reap signals it again), then submit and reap
  // until a turn queues nothing new (bounded: a turn's handlers queue at most one SQE per completion).
  const turn = () => {
    state.turns++
    ring.clearEvent()
    for (let i = 0; i < 8 && (ring.submitAndReap(handle) > 0 || ring.pending > 0); i++);
  }
  const watchInNodeLoop = await loadWatch()
  const watch = watchInNodeLoop?.(ffi, ring.eventFd, () => setImmediate(() => {
    turn()
    watch!.start()
  }))
  let timer: NodeJS.Timeout | undefined
  if (watch) {
    turn()
    watch.start()
  } else {
    // No libuv watch on this runtime: poll between turns of Node's loop.
    const poll = () => {
      turn()
      timer = setTimeout(poll, 1)
    }
    poll()
  }
  return {
    port: listener.port,
    state,
    watched: watch !== undefined,
    defer: (ring.setupFlags & IORING_SETUP_DEFER_TASKRUN) !== 0,
    close() {
      watch?.stop()
      clearTimeout(timer)
      listener.close()
      ring.close()
    },
  }
}

function client(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => resolve(socket))
    socket.once('error', reject)
  })
}

function readExactly(socket: Socket, length: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = []
    let have = 0
    const onClose = () => reject(new Error(`closed after ${have} of ${length} bytes`))
    const onData = (bytes: Buffer) => {
      parts.push(bytes)
      have += bytes.length
      if (have >= length) {
        socket.off('data', onData)
        socket.off('close', onClose)
        resolve(Buffer.concat(parts))
      }
    }
    socket.on('data', onData)
    socket.once('close', onClose)
  })
}

test('multishot accept + multishot recv into a buffer ring + send echo a node:net client, without blocking Node', { skip }, async () => {
  const server = await echoServer(4, 64)
  try {
    const socket = await client(server.port)
    socket.write('hello, ring')
    assert.equal((await readExactly(socket, 11)).toString(), 'hello, ring')
    const closed = new Promise((resolve) => socket.once('close', resolve))
    socket.end()
    await closed
    while (server.state.closed === 0) await new Promise((resolve) => setImmediate(resolve))
    assert.equal(server.state.accepted, 1)
    assert.equal(server.state.received, 11)
    assert.equal(server.state.sends, server.state.recycled)
    assert.ok(server.state.turns > 0)
    // On Node the eventfd is watched in libuv's own loop: every turn was woken by the kernel, none polled.
    if (process.versions.bun === undefined) assert.ok(server.watched, 'the libuv watch of the eventfd loads on Node')
  } finally {
    server.close()
  }
})

test('the fallback setup (COOP_TASKRUN without DEFER_TASKRUN, for kernels before 6.1) echoes the same', { skip }, async () => {
  const server = await echoServer(4, 64, [IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG])
  try {
    assert.equal(server.defer, false)
    const socket = await client(server.port)
    for (const message of ['one', 'two', 'three']) {
      socket.write(message)
      assert.equal((await readExactly(socket, message.length)).toString(), message)
    }
    socket.destroy()
  } finally {
    server.close()
  }
})

test('buffers are recycled: 50 messages through a ring of 2 buffers, and one message of 5 buffers', { skip }, async () => {
  const server = await echoServer(2, 16)
  try {
    const socket = await client(server.port)
    for (let i = 0; i < 50; i++) {
      const message = `message ${String(i).padStart(4, '0')}`
      socket.write(message)
      assert.equal((await readExactly(socket, message.length)).toString(), message)
    }
    assert.ok(server.state.recycled >= 50)
    // 80 bytes need 5 buffers of 16 and the ring has 2: the receive runs dry (ENOBUFS ends the multishot),
    // the buffers come back as each is copied, and it is armed again until every byte has come.
    const big = Buffer.alloc(80, 'abcdefghij')
    socket.write(big)
    assert.deepEqual(await readExactly(socket, 80), big)
    socket.destroy()
  } finally {
    server.close()
  }
})

test('many network completions in one enter: 40 connections each send a byte, one submitAndReap() runs every receive', { skip }, async () => {
  const listener = await listenSocket()
  const ring = await IoUring.open(64)
  const pool = ring.bufferRing(1, 64, 64)
  const sockets: Socket[] = []
  try {
    let accepted = 0
    ring.accept(listener.fd, ACCEPT, true)
    const armAccepted = (userData: number, result: number) => {
      if ((userData & 7) !== ACCEPT) return
      assert.ok(result >= 0)
      accepted++
      ring.recv(result, pool.group, (result << 3) | RECV, true)
    }
    for (let i = 0; i < 40; i++) sockets.push(await client(listener.port))
    // Accept them all and arm their receives (polled between turns of Node's loop).
    while (accepted < 40 || ring.pending > 0) {
      ring.submitAndReap(armAccepted)
      await new Promise((resolve) => setImmediate(resolve))
    }
    ring.submitAndReap(armAccepted)
    // Loopback hands bytes to the receiving socket within the sender's write(2): once every write has
    // called back, every receive can complete.
    await Promise.all(sockets.map((socket) => new Promise((resolve) => socket.write('x', resolve))))
    let received = 0
    const reaped = ring.submitAndReap((userData, result, flags) => {
      assert.equal(userData & 7, RECV)
      assert.equal(result, 1)
      pool.recycle(flags >>> IORING_CQE_BUFFER_SHIFT)
      received++
    })
    assert.equal(reaped, 40)
    assert.equal(received, 40)
  } finally {
    for (const socket of sockets) socket.destroy()
    listener.close()
    ring.close()
  }
})

/** Reaps (yielding to Node between turns) until `done()` holds, for at most 10 s. */
async function reapUntil(ring: IoUring, handle: (userData: number, result: number, flags: number) => void, done: () => boolean, what: string) {
  const deadline = Date.now() + 10_000
  while (!done()) {
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`)
    ring.submitAndReap(handle)
    if (!done()) await new Promise((resolve) => setImmediate(resolve))
  }
}

/** A ring with one accepted connection: the server side's fd and the node:net client. */
async function acceptedPair() {
  const listener = await listenSocket()
  const ring = await IoUring.open(16)
  const completions = new Map<number, { result: number; flags: number }[]>()
  const handle = (userData: number, result: number, flags: number) => completions.set(userData, [...(completions.get(userData) ?? []), { result, flags }])
  ring.accept(listener.fd, ACCEPT, false)
  const socket = await client(listener.port)
  await reapUntil(ring, handle, () => completions.has(ACCEPT), 'the accept')
  const [{ result: fd, flags }] = completions.get(ACCEPT)!
  assert.ok(fd! >= 0)
  assert.equal(flags! & IORING_CQE_F_MORE, 0, 'a single-shot accept ends')
  listener.close()
  return { ring, fd: fd!, socket, completions, handle }
}

test('SENDMSG sends the iovecs of a struct msghdr in one request', { skip }, async () => {
  const ffi = await loadKoffi('This test', 'none')
  const { ring, fd, socket, completions, handle } = await acceptedPair()
  try {
    // struct msghdr (56 B on 64-bit): name 0 | namelen 8 | iov 16 | iovlen 24 | control 32 | controllen 40 | flags 48
    // struct iovec (16 B): base 0 | len 8
    const parts = [Buffer.from('hello, '), Buffer.from('world')]
    const iovecs = Buffer.alloc(32)
    parts.forEach((part, i) => {
      iovecs.writeBigUInt64LE(ffi.address(part), i * 16)
      iovecs.writeBigUInt64LE(BigInt(part.length), i * 16 + 8)
    })
    const msghdr = Buffer.alloc(56)
    msghdr.writeBigUInt64LE(ffi.address(iovecs), 16)
    msghdr.writeBigUInt64LE(2n, 24)
    const received = readExactly(socket, 12)
    ring.sendmsg(fd, ffi.address(msghdr), 100)
    await reapUntil(ring, handle, () => completions.has(100), 'the sendmsg')
    assert.equal(completions.get(100)![0]!.result, 12)
    assert.equal((await received).toString(), 'hello, world')
  } finally {
    socket.destroy()
    ring.close()
  }
})

test('SPLICE moves a file to the socket through a pipe (file → pipe, pipe → socket)', { skip }, async () => {
  const ffi = await loadKoffi('This test', 'none')
  const lib = ffi.load('libc.so.6')
  const pipe2 = lib.func('int pipe2(void *fds, int flags)')
  const closeFd = lib.func('int close(int fd)')
  const { mkdtempSync, writeFileSync, openSync, closeSync, rmSync } = await import('node:fs')
  const { tmpdir } = await import('node:os')
  const folder = mkdtempSync(`${tmpdir()}/io-uring-`)
  const content = Buffer.alloc(3000, 'spliced bytes ')
  writeFileSync(`${folder}/file`, content)
  const file = openSync(`${folder}/file`, 'r')
  const fds = Buffer.alloc(8)
  assert.equal(pipe2(fds, 0o2000000), 0)
  const [pipeRead, pipeWrite] = [fds.readInt32LE(0), fds.readInt32LE(4)]
  const { ring, fd, socket, completions, handle } = await acceptedPair()
  try {
    const received = readExactly(socket, content.length)
    ring.splice(file, 0, pipeWrite, content.length, 200)
    await reapUntil(ring, handle, () => completions.has(200), 'the splice into the pipe')
    assert.equal(completions.get(200)![0]!.result, content.length)
    ring.splice(pipeRead, -1, fd, content.length, 201)
    await reapUntil(ring, handle, () => completions.has(201), 'the splice to the socket')
    assert.equal(completions.get(201)![0]!.result, content.length)
    assert.deepEqual(await received, content)
  } finally {
    socket.destroy()
    ring.close()
    closeFd(pipeRead)
    closeFd(pipeWrite)
    closeSync(file)
    rmSync(folder, { recursive: true })
  }
})

test('CANCEL ends a multishot recv, SHUTDOWN ends the sending side (the client sees its end), CLOSE closes', { skip }, async () => {
  const { ring, fd, socket, completions, handle } = await acceptedPair()
  const pool = ring.bufferRing(1, 4, 64)
  try {
    // A multishot recv stays armed until cancelled: the cancel completes with 0, the recv with -ECANCELED
    // and without IORING_CQE_F_MORE. (Before the shutdown: the client answers our FIN with its own, which
    // would end the recv with 0.)
    ring.recv(fd, pool.group, 301, true)
    ring.submitAndReap(handle)
    assert.equal(completions.has(301), false)
    ring.cancel(301, 302)
    await reapUntil(ring, handle, () => completions.has(302) && completions.has(301), 'the cancel')
    assert.equal(completions.get(302)![0]!.result, 0)
    assert.deepEqual(completions.get(301), [{ result: -125, flags: 0 }])
    const ended = new Promise((resolve) => socket.once('end', resolve))
    socket.resume()
    ring.shutdown(fd, 1, 300)
    await reapUntil(ring, handle, () => completions.has(300), 'the shutdown')
    assert.equal(completions.get(300)![0]!.result, 0)
    await ended
    const closed = new Promise((resolve) => socket.once('close', resolve))
    ring.closeFd(fd, 303)
    await reapUntil(ring, handle, () => completions.has(303), 'the close')
    assert.equal(completions.get(303)![0]!.result, 0)
    await closed
  } finally {
    socket.destroy()
    ring.close()
  }
})

test('with TASKRUN_FLAG and DEFER_TASKRUN, sqFlags shows IORING_SQ_TASKRUN as soon as a receive waits to be run, and the reap clears it', { skip }, async () => {
  const { ring, fd, socket, handle, completions } = await acceptedPair()
  const pool = ring.bufferRing(1, 4, 64)
  try {
    // Without DEFER_TASKRUN the completion runs as task work when this thread returns from its own write(2),
    // clearing the flag before it can be read: only a deferred ring shows it here.
    if (!(ring.setupFlags & IORING_SETUP_TASKRUN_FLAG) || !(ring.setupFlags & IORING_SETUP_DEFER_TASKRUN)) return
    ring.recv(fd, pool.group, 400, true)
    ring.submitAndReap(handle)
    assert.equal(ring.sqFlags & IORING_SQ_TASKRUN, 0)
    await new Promise((resolve) => socket.write('x', resolve))
    // Loopback delivers within the write: the flag is a plain memory read, no system call.
    assert.equal(ring.sqFlags & IORING_SQ_TASKRUN, IORING_SQ_TASKRUN)
    await reapUntil(ring, handle, () => completions.has(400), 'the receive')
    assert.equal(ring.sqFlags & IORING_SQ_TASKRUN, 0)
  } finally {
    socket.destroy()
    ring.close()
  }
})
