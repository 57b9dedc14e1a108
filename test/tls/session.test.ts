/*
 * TlsSession over a real loopback TCP socket against Node's own `tls.connect` in the same thread: the
 * server side is OpenSSL from the Node binary through koffi (src/ffi/openssl.ts) on the fd of a node:net
 * socket accepted with pauseOnConnect (libuv never reads it; OpenSSL does), waiting for readiness in poll(2)
 * on the thread pool. Certificates are made at run time (test/helpers/tls-certificates.ts).
 */
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { type AddressInfo, type Server, type Socket, connect as netConnect, createServer } from 'node:net'
import { Duplex } from 'node:stream'
import { after, before, test } from 'node:test'
import * as tls from 'node:tls'
import { TlsSetupError } from '../../src/errors.ts'
import { type Libc, loadLibc } from '../../src/ffi/libc.ts'
import { TlsContext } from '../../src/tls/context.ts'
import { TLS_CLOSED, TLS_FAILED, TLS_WANT_READ, TLS_WANT_WRITE, TlsSession } from '../../src/tls/session.ts'
import { type TestCertificates, certificates, opensslMissing } from '../helpers/tls-certificates.ts'

const skip = process.platform !== 'linux' ? 'the epoll backend and its TLS are Linux only' : opensslMissing
const POLLIN = 0x1
const POLLOUT = 0x4
let libc: Libc
let certs: TestCertificates
let server: Server
let port: number
const accepted: Socket[] = []
let onAccept: ((socket: Socket) => void)[] = []

before(async () => {
  if (skip) return
  libc = await loadLibc()
  certs = certificates()!
  server = createServer({ pauseOnConnect: true }, (socket) => {
    accepted.push(socket)
    onAccept.shift()!(socket)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  port = (server.address() as AddressInfo).port
})

after(() => {
  if (skip) return
  for (const socket of accepted) socket.destroy()
  server.close()
})

/** The next accepted socket's fd (owned by the node:net socket, which closes it at destroy()). */
function nextAccepted(): Promise<{ socket: Socket; fd: number }> {
  return new Promise((resolve) => onAccept.push((socket) => resolve({ socket, fd: (socket as unknown as { _handle: { fd: number } })._handle.fd })))
}

/** Waits (on the thread pool) until `fd` is ready for `events`; bounded so that a broken test ends. */
function ready(fd: number, events: number): Promise<void> {
  const pollfd = Buffer.alloc(8)
  pollfd.writeInt32LE(fd, 0)
  pollfd.writeInt16LE(events, 4)
  return new Promise((resolve, reject) => libc.poll.async(pollfd, 1, 20_000, (error: Error | null, count: number) => {
    if (error) reject(error)
    else if (count === 0) reject(new Error(`fd ${fd} not ready in 20 s`))
    else resolve()
  }))
}

/** Calls `step` until it answers something other than a WANT, waiting for the readiness each WANT asks. */
async function drive(fd: number, step: () => number, onWant?: (want: number) => void): Promise<number> {
  for (;;) {
    const result = step()
    if (result === TLS_WANT_READ) { onWant?.(result); await ready(fd, POLLIN) } else if (result === TLS_WANT_WRITE) { onWant?.(result); await ready(fd, POLLOUT) } else return result
  }
}

/** Writes all of `bytes`, counting the TLS_WANT_WRITEs. */
async function writeAll(session: TlsSession, fd: number, bytes: Uint8Array, onFirstWantWrite?: () => void): Promise<number> {
  let wants = 0
  let offset = 0
  while (offset < bytes.length) {
    const n = await drive(fd, () => session.write(bytes.subarray(offset)), (want) => {
      if (want === TLS_WANT_WRITE && wants++ === 0) onFirstWantWrite?.()
    })
    assert.ok(n > 0, `write answered ${n}: ${session.error?.message}`)
    offset += n
  }
  return wants
}

/** A server session that echoes what it reads until the peer ends; answers the final outcome. */
async function echo(session: TlsSession, fd: number): Promise<number> {
  const buffer = Buffer.alloc(16384)
  for (;;) {
    const n = await drive(fd, () => session.read(buffer))
    if (n < 0) return n
    await writeAll(session, fd, buffer.subarray(0, n))
  }
}

function clientConnect(options: tls.ConnectionOptions = {}): tls.TLSSocket {
  return tls.connect({ port, host: '127.0.0.1', ca: certs.ca, servername: 'localhost', ALPNProtocols: ['http/1.1'], ...options })
}

const secure = (client: tls.TLSSocket) => new Promise<void>((resolve, reject) => { client.once('secureConnect', resolve); client.once('error', reject) })
const failed = (client: tls.TLSSocket) => new Promise<Error & { code?: string }>((resolve, reject) => { client.once('error', resolve); client.once('secureConnect', () => reject(new Error('the handshake succeeded'))) })
const collect = (client: tls.TLSSocket, bytes: number) => new Promise<Buffer>((resolve, reject) => {
  const parts: Buffer[] = []
  let have = 0
  client.on('data', (part: Buffer) => { parts.push(part); have += part.length; if (have >= bytes) resolve(Buffer.concat(parts)) })
  client.once('error', reject)
})

test('TlsSession: TLS 1.3 handshake with ALPN http/1.1, bytes both ways, close_notify ends the client', { skip }, async () => {
  const context = await TlsContext.create({ key: certs.rsa.key, cert: certs.rsa.cert })
  const peer = nextAccepted()
  const client = clientConnect()
  const { fd } = await peer
  const session = new TlsSession(context, fd)
  assert.equal(session.state, 'handshake')
  const handshake = drive(fd, () => session.handshake())
  await secure(client)
  assert.equal(await handshake, 0)
  assert.equal(session.state, 'open')
  assert.equal(client.alpnProtocol, 'http/1.1')
  assert.equal(session.alpn, 'http/1.1')
  assert.equal(session.version, 'TLSv1.3')
  assert.equal(session.servername, 'localhost')
  assert.equal(client.getProtocol(), 'TLSv1.3')

  const request = Buffer.from('GET / HTTP/1.1\r\nhost: localhost\r\n\r\n')
  client.write(request)
  const buffer = Buffer.alloc(1024)
  const n = await drive(fd, () => session.read(buffer, 10, 100))
  assert.equal(n, request.length)
  assert.deepEqual(buffer.subarray(10, 10 + n), request)
  assert.equal(session.pending, 0)

  const reply = collect(client, 5)
  await writeAll(session, fd, Buffer.from('hello'))
  assert.equal((await reply).toString(), 'hello')

  const ended = new Promise((resolve) => client.once('end', resolve))
  assert.equal(await drive(fd, () => session.close()), 0)
  await ended
  session.free()
  session.invariants()
  client.destroy()
  context.dispose()
})

test('TlsSession: TLS 1.2 with the RSA and the ECDSA certificate, an intermediate cipher each', { skip }, async () => {
  for (const pair of [certs.rsa, certs.ecdsa]) {
    const context = await TlsContext.create(pair)
    const peer = nextAccepted()
    const client = clientConnect({ maxVersion: 'TLSv1.2', servername: pair === certs.rsa ? 'localhost' : 'b.test' })
    const { fd } = await peer
    const session = new TlsSession(context, fd)
    const handshake = drive(fd, () => session.handshake())
    await secure(client)
    assert.equal(await handshake, 0)
    assert.equal(session.version, 'TLSv1.2')
    const cipher = client.getCipher()
    assert.match(cipher.standardName, pair === certs.rsa ? /^TLS_ECDHE_RSA_WITH_(AES_128_GCM|AES_256_GCM|CHACHA20_POLY1305)/ : /^TLS_ECDHE_ECDSA_WITH_/)
    client.destroy()
    assert.equal(await drive(fd, () => session.read(Buffer.alloc(64))), TLS_CLOSED)
    session.free()
    session.invariants()
    context.dispose()
  }
})

test('TlsSession: SNI picks the named certificate; an unknown or missing name gets the default', { skip }, async () => {
  const context = await TlsContext.create([
    { key: certs.rsa.key, cert: certs.rsa.cert },
    { key: certs.ecdsa.key, cert: certs.ecdsa.cert, serverName: 'B.test' },
  ])
  for (const [servername, subject] of [['b.test', 'b.test'], ['a.test', 'localhost'], ['unknown.test', 'localhost'], [undefined, 'localhost']] as const) {
    const peer = nextAccepted()
    const client = clientConnect({ servername: servername ?? '', checkServerIdentity: () => undefined })
    const { fd } = await peer
    const session = new TlsSession(context, fd)
    const handshake = drive(fd, () => session.handshake())
    await secure(client)
    assert.equal(await handshake, 0)
    assert.equal(client.getPeerCertificate().subject.CN, subject, `servername ${servername}`)
    assert.equal(session.servername, servername)
    client.destroy()
    await drive(fd, () => session.read(Buffer.alloc(64)))
    session.free()
    session.invariants()
  }
  context.dispose()
})

for (const version of ['TLSv1', 'TLSv1.1'] as const) {
  test(`TlsSession: a ${version} client is refused with a protocol_version alert`, { skip }, async () => {
    const context = await TlsContext.create(certs.rsa)
    const peer = nextAccepted()
    const client = clientConnect({ minVersion: version, maxVersion: version, ciphers: 'DEFAULT@SECLEVEL=0' })
    const { fd } = await peer
    const session = new TlsSession(context, fd)
    const result = drive(fd, () => session.handshake())
    const error = await failed(client)
    assert.equal(error.code, 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION')
    assert.equal(await result, TLS_FAILED)
    assert.equal(session.state, 'failed')
    assert.equal(session.error?.code, 'TLS_FAILED')
    assert.match(session.error!.reason, /unsupported protocol/)
    session.free()
    session.invariants()
    client.destroy()
    context.dispose()
  })
}

test('TlsSession: a ClientHello arriving one byte per write still completes the handshake', { skip }, async () => {
  const context = await TlsContext.create(certs.rsa)
  const peer = nextAccepted()
  const raw = netConnect(port, '127.0.0.1')
  raw.setNoDelay(true)
  // A stream between Node's TLS client and the socket that sends every byte in its own write.
  const oneByteAtATime = new Duplex({
    async write(chunk: Buffer, _encoding, done) {
      for (const byte of chunk) {
        raw.write(Buffer.of(byte))
        await new Promise((resolve) => setImmediate(resolve))
      }
      done()
    },
    read() {},
  })
  raw.on('data', (part) => oneByteAtATime.push(part))
  raw.on('end', () => oneByteAtATime.push(null))
  const client = tls.connect({ socket: oneByteAtATime, ca: certs.ca, servername: 'localhost', ALPNProtocols: ['http/1.1'] })
  const { fd } = await peer
  const session = new TlsSession(context, fd)
  const handshake = drive(fd, () => session.handshake())
  await secure(client)
  assert.equal(await handshake, 0)
  assert.equal(session.alpn, 'http/1.1')
  client.destroy()
  raw.destroy()
  session.free()
  session.invariants()
  context.dispose()
})

test('TlsSession: an SNI name of 300 bytes (longer than any host name) gets the default certificate', { skip }, async () => {
  const context = await TlsContext.create([certs.rsa, { ...certs.ecdsa, serverName: 'b.test' }])
  const name = `${'a'.repeat(294)}.b.test`
  const peer = nextAccepted()
  const client = clientConnect({ servername: name, checkServerIdentity: () => undefined })
  const { fd } = await peer
  const session = new TlsSession(context, fd)
  const handshake = drive(fd, () => session.handshake())
  await secure(client)
  assert.equal(await handshake, 0)
  assert.equal(client.getPeerCertificate().subject.CN, 'localhost')
  // The name is not kept (no host name is over 253 bytes): the connection has none, as one that sent none.
  assert.equal(session.servername, undefined)
  client.destroy()
  await drive(fd, () => session.read(Buffer.alloc(64)))
  session.free()
  session.invariants()
  context.dispose()
})

test('TlsSession: a client offering only h2 gets no_application_protocol', { skip }, async () => {
  const context = await TlsContext.create(certs.rsa)
  const peer = nextAccepted()
  const client = clientConnect({ ALPNProtocols: ['h2'] })
  const { fd } = await peer
  const session = new TlsSession(context, fd)
  const result = drive(fd, () => session.handshake())
  assert.equal((await failed(client)).code, 'ERR_SSL_TLSV1_ALERT_NO_APPLICATION_PROTOCOL')
  assert.equal(await result, TLS_FAILED)
  assert.match(session.error!.reason, /no application protocol/)
  session.free()
  session.invariants()
  client.destroy()
  context.dispose()
})

test('TlsSession: an 8 MiB write to a client that is not reading waits on TLS_WANT_WRITE, then arrives whole', { skip }, async () => {
  const context = await TlsContext.create(certs.ecdsa)
  const peer = nextAccepted()
  const client = clientConnect({ servername: 'b.test' })
  const { fd } = await peer
  const session = new TlsSession(context, fd)
  const handshake = drive(fd, () => session.handshake())
  await secure(client)
  assert.equal(await handshake, 0)
  client.pause()
  const body = randomBytes(8 * 1024 * 1024)
  const received = collect(client, body.length)
  // The client starts reading only once the server has had to wait for the socket.
  const wantWrites = await writeAll(session, fd, body, () => client.resume())
  assert.ok(wantWrites > 0, 'the write waited for the socket at least once')
  const got = await received
  assert.equal(got.length, body.length)
  assert.equal(createHash('sha256').update(got).digest('hex'), createHash('sha256').update(body).digest('hex'))
  client.destroy()
  await drive(fd, () => session.read(Buffer.alloc(64)))
  session.free()
  session.invariants()
  context.dispose()
})

test('TlsSession: echoes bytes both ways over many records', { skip }, async () => {
  const context = await TlsContext.create(certs.rsa)
  const peer = nextAccepted()
  const client = clientConnect()
  const { fd } = await peer
  const session = new TlsSession(context, fd)
  const echoing = echo(session, fd)
  await secure(client)
  const sent = randomBytes(300_000)
  const back = collect(client, sent.length)
  client.write(sent)
  assert.deepEqual(await back, sent)
  client.end()
  assert.equal(await echoing, TLS_CLOSED)
  session.free()
  session.invariants()
  client.destroy()
  context.dispose()
})

test('TlsSession: a session ticket resumes the session (TLS 1.3 and 1.2), until the ticket keys rotate', { skip }, async () => {
  const context = await TlsContext.create(certs.rsa)
  for (const maxVersion of ['TLSv1.3', 'TLSv1.2'] as const) {
    let ticket: Buffer | undefined
    // Round 0: a full handshake that gives a ticket; 1: resumed with it; 2: after rotateTicketKeys(), full again.
    for (const round of [0, 1, 2]) {
      if (round === 2) context.rotateTicketKeys()
      const peer = nextAccepted()
      const client = clientConnect({ maxVersion, session: ticket })
      const gotTicket = new Promise<Buffer>((resolve) => client.once('session', resolve))
      const { fd } = await peer
      const session = new TlsSession(context, fd)
      // Reading drives the handshake and, in TLS 1.3, sends the tickets after it.
      const reading = drive(fd, () => session.read(Buffer.alloc(64)))
      await secure(client)
      if (round === 0) ticket = await gotTicket
      assert.equal(client.isSessionReused(), round === 1, `${maxVersion} round ${round}`)
      assert.equal(session.reused, round === 1)
      client.end()
      assert.equal(await reading, TLS_CLOSED)
      session.free()
      session.invariants()
      client.destroy()
    }
  }
  context.dispose()
})

/** A raw (not TLS) client that sends `bytes`, then maybe ends. */
function rawClient(bytes: Buffer, end: boolean): Socket {
  const socket = netConnect(port, '127.0.0.1', () => { socket.write(bytes); if (end) socket.end() })
  socket.on('error', () => undefined)
  socket.resume()
  return socket
}

test('TlsSession: a peer that closes mid-handshake ends the session without an exception', { skip }, async () => {
  const context = await TlsContext.create(certs.rsa)
  // The first bytes of a ClientHello record (TLS record header, handshake header), then the end.
  const partial = Buffer.from('160301020001', 'hex')
  const peer = nextAccepted()
  const client = rawClient(partial, true)
  const { fd } = await peer
  const session = new TlsSession(context, fd)
  const result = await drive(fd, () => session.handshake())
  assert.ok(result === TLS_CLOSED || result === TLS_FAILED, `answered ${result}`)
  assert.ok(session.state === 'closed' || session.state === 'failed')
  session.free()
  session.invariants()
  client.destroy()
  context.dispose()
})

test('TlsSession: plain HTTP and garbage records fail that session cleanly, with the reason', { skip }, async () => {
  const context = await TlsContext.create(certs.rsa)
  const inputs: [Buffer, RegExp][] = [
    [Buffer.from('GET / HTTP/1.1\r\nhost: x\r\n\r\n'), /http request/],
    [Buffer.concat([Buffer.from('1703030040', 'hex'), Buffer.alloc(64, 0xa5)]), /unexpected message|wrong version|record/],
    [Buffer.from('16030100050100000100', 'hex'), /length|decode|packet/],
  ]
  for (const [bytes, reason] of inputs) {
    const peer = nextAccepted()
    const client = rawClient(bytes, false)
    const { fd } = await peer
    const session = new TlsSession(context, fd)
    assert.equal(await drive(fd, () => session.read(Buffer.alloc(256))), TLS_FAILED)
    // What OpenSSL took from the socket is counted (the bound on handshake bytes will compare against it).
    assert.ok(session.bytesRead > 0 && session.bytesRead <= bytes.length, `bytesRead ${session.bytesRead}`)
    assert.match(session.error!.reason, reason)
    assert.match(session.error!.message, /^TLS handshake failed: /)
    // Nothing left behind on this thread's queue: the next call on the thread starts clean.
    assert.equal(context.ssl.ERR_get_error(), 0)
    session.free()
    session.invariants()
    client.destroy()
  }
  context.dispose()
})

test('TlsSession: Node\'s own tls keeps working in the same thread, and a failed node:tls check leaves our sessions alone', { skip }, async () => {
  const context = await TlsContext.create(certs.rsa)
  // A failing session of ours first: its errors must not reach Node's tls.
  const peer = nextAccepted()
  const garbage = rawClient(Buffer.from('not tls at all\r\n'), false)
  const first = new TlsSession(context, (await peer).fd)
  assert.equal(await drive((await peer).fd, () => first.read(Buffer.alloc(64))), TLS_FAILED)
  first.free()
  garbage.destroy()

  const nodeServer = tls.createServer({ key: certs.ecdsa.key, cert: certs.ecdsa.cert }, (socket) => socket.end('node'))
  await new Promise<void>((resolve) => nodeServer.listen(0, '127.0.0.1', resolve))
  const nodePort = (nodeServer.address() as AddressInfo).port
  // Node's client with the wrong trust (no CA): a certificate error inside Node's OpenSSL on this thread.
  const refused = tls.connect({ port: nodePort, host: '127.0.0.1', servername: 'b.test' })
  assert.equal((await failed(refused)).code, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE')
  refused.destroy()
  // Node's tls still works...
  const good = tls.connect({ port: nodePort, host: '127.0.0.1', servername: 'b.test', ca: certs.ca })
  assert.equal((await collect(good, 4)).toString(), 'node')
  good.destroy()
  // ...and so do ours, interleaved with another failing node:tls check.
  const ours = nextAccepted()
  const client = clientConnect()
  const { fd } = await ours
  const session = new TlsSession(context, fd)
  const handshake = drive(fd, () => session.handshake())
  const refusedAgain = tls.connect({ port: nodePort, host: '127.0.0.1', servername: 'b.test' })
  const refusedAgainError = failed(refusedAgain)
  await secure(client)
  assert.equal(await handshake, 0)
  assert.equal((await refusedAgainError).code, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE')
  refusedAgain.destroy()
  client.write('after')
  const buffer = Buffer.alloc(64)
  const n = await drive(fd, () => session.read(buffer))
  assert.equal(buffer.toString('latin1', 0, n), 'after')
  client.destroy()
  session.free()
  session.invariants()
  nodeServer.close()
  context.dispose()
})

test('TlsContext.create() refuses a wrong passphrase, a key that is not the certificate\'s and an expired certificate, saying which', { skip }, async () => {
  const refused = async (setting: Parameters<typeof TlsContext.create>[0], code: string, message: RegExp) => {
    await assert.rejects(TlsContext.create(setting), (error: unknown) => {
      assert.ok(error instanceof TlsSetupError)
      assert.equal(error.code, code)
      assert.match(error.message, message)
      return true
    })
  }
  await refused({ key: certs.encryptedKey, cert: certs.rsa.cert, passphrase: 'wrong' }, 'TLS_BAD_PASSPHRASE', /^The passphrase of tls does not decrypt its key$/)
  await refused({ key: certs.encryptedKey, cert: certs.rsa.cert }, 'TLS_BAD_PASSPHRASE', /^The key of tls is encrypted: expected a passphrase$/)
  await refused([certs.rsa, { key: certs.rsa.key, cert: certs.ecdsa.cert, serverName: 'b.test' }], 'TLS_KEY_MISMATCH', /^The key of tls\[1\] \(b\.test\) does not match its certificate/)
  await refused(certs.expired, 'TLS_CERTIFICATE_EXPIRED', /^The certificate of tls expired on \d{4}-/)
  await refused({ key: 'not a key', cert: certs.rsa.cert }, 'TLS_BAD_KEY', /^The key of tls is not a PEM private key/)
  await refused({ key: certs.rsa.key, cert: 'not a certificate' }, 'TLS_BAD_CERTIFICATE', /^The certificate of tls is not a PEM certificate/)
  // The right passphrase opens it, through OpenSSL as well.
  const context = await TlsContext.create({ key: certs.encryptedKey, cert: certs.rsa.cert, passphrase: certs.passphrase })
  context.rotateTicketKeys()
  context.dispose()
})

/** A connected node:net socket that libuv never reads (paused before it connects), and its fd. */
async function pausedClientFd(toPort: number): Promise<{ socket: Socket; fd: number }> {
  const socket = netConnect(toPort, '127.0.0.1')
  socket.pause()
  await new Promise((resolve) => socket.once('connect', resolve))
  return { socket, fd: (socket as unknown as { _handle: { fd: number } })._handle.fd }
}

test('TlsSession as a client: verifies the server against ca and the servername, speaks ALPN http/1.1', { skip }, async () => {
  const nodeServer = tls.createServer({ key: certs.rsa.key, cert: certs.rsa.cert, ALPNProtocols: ['http/1.1'] }, (socket) => socket.end(`hello ${socket.alpnProtocol}`))
  nodeServer.on('tlsClientError', () => undefined)
  await new Promise<void>((resolve) => nodeServer.listen(0, '127.0.0.1', resolve))
  const nodePort = (nodeServer.address() as AddressInfo).port
  const trusting = await TlsContext.createClient({ ca: certs.ca })
  const roots = await TlsContext.createClient()

  const { socket, fd } = await pausedClientFd(nodePort)
  const session = new TlsSession(trusting, fd, 'a.test')
  assert.equal(await drive(fd, () => session.handshake()), 0)
  assert.equal(session.alpn, 'http/1.1')
  const buffer = Buffer.alloc(64)
  let text = ''
  for (;;) {
    const n = await drive(fd, () => session.read(buffer))
    if (n < 0) { assert.equal(n, TLS_CLOSED); break }
    text += buffer.toString('latin1', 0, n)
  }
  assert.equal(text, 'hello http/1.1')
  session.free()
  session.invariants()
  socket.destroy()

  // A name the certificate does not carry, and a CA the client does not trust (Node's roots only).
  for (const [context, name] of [[trusting, 'wrong.test'], [roots, 'localhost']] as const) {
    const { socket: other, fd: otherFd } = await pausedClientFd(nodePort)
    const refused = new TlsSession(context, otherFd, name)
    assert.equal(await drive(otherFd, () => refused.handshake()), TLS_FAILED)
    assert.match(refused.error!.reason, /certificate verify failed/)
    assert.equal(trusting.ssl.ERR_get_error(), 0)
    refused.free()
    other.destroy()
  }
  assert.throws(() => new TlsSession(trusting, fd), { name: 'TypeError', message: /needs a servername/ })
  trusting.dispose()
  roots.dispose()
  await new Promise((resolve) => nodeServer.close(resolve))
})
