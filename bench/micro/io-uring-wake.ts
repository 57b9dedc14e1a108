/*
 * Micro-measure: how io_uring tells a loop that network completions wait, for each setup, on loopback
 * (the figures under "io_uring" in docs/architecture.md):
 *   batch    60 connections each send a byte: completions reaped per io_uring_enter with GETEVENTS and
 *            min_complete 1, then with EXT_ARG, min_complete = the CQ size and a zero timeout
 *   eventfd  µs from a peer's write(2) (made on this thread, so no scheduling in between) until the ring's
 *            registered eventfd reads ready (poll with a zero timeout, in a loop), 30 writes per setup
 *   taskrun  whether IORING_SQ_TASKRUN (TASKRUN_FLAG) is set in the SQ ring's flags right after the write
 *            (without DEFER_TASKRUN the completion runs as task work when this thread returns from its own
 *            write, which clears the flag again: 0 there says nothing about a peer in another process)
 *   node bench/micro/io-uring-wake.ts
 */
import assert from 'node:assert/strict'
import { connect, type Socket } from 'node:net'
import {
  IORING_CQE_BUFFER_SHIFT,
  IORING_SETUP_COOP_TASKRUN,
  IORING_SETUP_DEFER_TASKRUN,
  IORING_SETUP_SINGLE_ISSUER,
  IORING_SETUP_TASKRUN_FLAG,
  IORING_SQ_TASKRUN,
  IoUring,
  ioUringSupport,
} from '../../src/ffi/io-uring.ts'
import { loadKoffi } from '../../src/ffi/koffi.ts'

const support = await ioUringSupport()
if (!support.ok) {
  console.log(`io_uring cannot run here: ${support.reason}`)
  process.exit(0)
}
const ffi = await loadKoffi('This measure', 'none')
const lib = ffi.load('libc.so.6')
const socketCall = lib.func('int socket(int domain, int type, int protocol)')
const bind = lib.func('int bind(int fd, void *address, uint32_t length)')
const listen = lib.func('int listen(int fd, int backlog)')
const getsockname = lib.func('int getsockname(int fd, void *address, void *length)')
const closeCall = lib.func('int close(int fd)')
const poll = lib.func('int poll(void *fds, unsigned long count, int timeout)')
const write = lib.func('long write(int fd, void *buffer, size_t count)')

const ACCEPT = 1
const RECV = 2

function listener(): { fd: number; port: number } {
  const fd = socketCall(2, 1, 0) as number
  const address = Buffer.alloc(16)
  address.writeUInt16LE(2, 0)
  Buffer.from([127, 0, 0, 1]).copy(address, 4)
  assert.equal(bind(fd, address, 16), 0)
  listen(fd, 128)
  const length = Buffer.alloc(4)
  length.writeUInt32LE(16)
  getsockname(fd, address, length)
  return { fd, port: address.readUInt16BE(2) }
}

/** `count` node:net clients accepted by `ring`, each with a multishot receive armed. */
async function accepted(ring: IoUring, listening: { fd: number; port: number }, count: number): Promise<Socket[]> {
  ring.accept(listening.fd, ACCEPT, true)
  const sockets: Socket[] = []
  for (let i = 0; i < count; i++) sockets.push(await new Promise((resolve) => { const socket = connect(listening.port, '127.0.0.1', () => resolve(socket)) }))
  let armed = 0
  const arm = (userData: number, result: number) => {
    if (userData !== ACCEPT) return
    armed++
    ring.recv(result, 1, RECV, true)
  }
  while (armed < count || ring.pending > 0) {
    ring.submitAndReap(arm)
    await new Promise((resolve) => setImmediate(resolve))
  }
  ring.submitAndReap(arm)
  return sockets
}

const setups: Array<[string, number]> = [
  ['SINGLE_ISSUER | DEFER_TASKRUN | COOP_TASKRUN | TASKRUN_FLAG', IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG],
  ['SINGLE_ISSUER | COOP_TASKRUN | TASKRUN_FLAG', IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG],
  ['COOP_TASKRUN', IORING_SETUP_COOP_TASKRUN],
  ['none', 0],
]

for (const [name, flags] of setups) {
  const listening = listener()
  let ring: IoUring
  try {
    ring = await IoUring.open(128, [flags])
  } catch (error) {
    console.log(`${name}: refused (${(error as Error).message})`)
    continue
  }
  const pool = ring.bufferRing(1, 128, 64)
  const recycle = (_userData: number, _result: number, cqeFlags: number) => pool.recycle(cqeFlags >>> IORING_CQE_BUFFER_SHIFT)
  const sockets = await accepted(ring, listening, 60)
  const perEnter: Record<string, number[]> = {}
  for (const mode of ['min_complete 1', 'EXT_ARG']) {
    await Promise.all(sockets.map((socket) => new Promise((resolve) => socket.write('x', resolve))))
    const counts: number[] = []
    for (let total = 0; total < 60; ) {
      const count = mode === 'EXT_ARG' ? ring.submitAndReap(recycle) : ring.submitAndWait(1, recycle)
      counts.push(count)
      total += count
    }
    perEnter[mode] = counts
  }
  ring.clearEvent()
  const clientFd = (sockets[0] as unknown as { _handle: { fd: number } })._handle.fd
  const pollfd = Buffer.alloc(8)
  pollfd.writeInt32LE(ring.eventFd, 0)
  pollfd.writeInt16LE(1, 4)
  const lags: number[] = []
  let taskrun = 0
  for (let i = 0; i < 30; i++) {
    const start = process.hrtime.bigint()
    write(clientFd, Buffer.from('x'), 1)
    if (ring.sqFlags & IORING_SQ_TASKRUN) taskrun++
    while (poll(pollfd, 1, 0) === 0);
    lags.push(Number(process.hrtime.bigint() - start) / 1000)
    ring.clearEvent()
    ring.submitAndReap(recycle)
    ring.clearEvent()
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
  lags.sort((a, b) => a - b)
  console.log(`${name} (setup 0x${ring.setupFlags.toString(16)})`)
  console.log(`  batch: completions per enter, min_complete 1: ${perEnter['min_complete 1']!.join(' ')}; EXT_ARG: ${perEnter['EXT_ARG']!.join(' ')}`)
  console.log(`  eventfd: µs from the write to ready: min ${lags[0]!.toFixed(0)}, median ${lags[15]!.toFixed(0)}, max ${lags[29]!.toFixed(0)}`)
  console.log(`  taskrun: IORING_SQ_TASKRUN set within the write ${taskrun} of 30 times`)
  for (const socket of sockets) socket.destroy()
  ring.close()
  closeCall(listening.fd)
}
process.exit(0)
