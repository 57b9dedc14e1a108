/*
 * The shared `tls` option set: resolveTls()'s shape checks, pickEntry()'s SNI choice, and nodeTlsOptions()
 * driving a real node:tls server (the node backend's path) with the same floor, ALPN and SNI as the
 * OpenSSL contexts of the epoll backend (test/tls/session.test.ts).
 */
import assert from 'node:assert/strict'
import type { AddressInfo } from 'node:net'
import { test } from 'node:test'
import * as tls from 'node:tls'
import { TlsSetupError } from '../../src/errors.ts'
import { nodeTlsOptions, pickEntry, resolveTls } from '../../src/tls/options.ts'
import { certificates, opensslMissing } from '../helpers/tls-certificates.ts'

const skip = opensslMissing

test('resolveTls() refuses a bad shape, naming the option', { skip }, () => {
  const certs = certificates()!
  assert.throws(() => resolveTls([]), { name: 'RangeError', message: /^Invalid tls: expected one \{ key, cert \}/ })
  assert.throws(() => resolveTls({ key: 1 as never, cert: certs.rsa.cert }), { name: 'TypeError', message: /^Invalid tls\.key: expected PEM text as a string or bytes, got number$/ })
  assert.throws(() => resolveTls([certs.rsa, { ...certs.ecdsa, serverName: 'bad name' }]), { name: 'RangeError', message: /^Invalid tls\[1\]\.serverName: expected a host name/ })
  assert.throws(() => resolveTls([{ ...certs.rsa, serverName: 'a.test' }, { ...certs.ecdsa, serverName: 'A.TEST' }]), { name: 'RangeError', message: /a\.test is given twice/ })
  // 253 bytes is the longest host name (RFC 1035 §2.3.4 less the final dot); 254 is refused.
  const label = 'a'.repeat(63)
  const name253 = `${label}.${label}.${label}.${'a'.repeat(61)}`
  assert.equal(name253.length, 253)
  assert.equal(resolveTls({ ...certs.rsa, serverName: name253 }).entries[0].serverName, name253)
  assert.throws(() => resolveTls({ ...certs.rsa, serverName: `${name253}a` }), { name: 'RangeError' })
  // Bytes work as well as strings.
  assert.equal(resolveTls({ key: Buffer.from(certs.rsa.key), cert: new TextEncoder().encode(certs.rsa.cert) }).entries.length, 1)
})

test('resolveTls() checks the dates against the time given', { skip }, () => {
  const certs = certificates()!
  const valid = resolveTls(certs.rsa).entries[0].validTo
  assert.throws(() => resolveTls(certs.rsa, new Date(valid.getTime() + 1000)), (error: unknown) => error instanceof TlsSetupError && error.code === 'TLS_CERTIFICATE_EXPIRED')
  assert.throws(() => resolveTls(certs.rsa, new Date(Date.UTC(2000, 0, 1))), { message: /is not valid before/ })
})

test('pickEntry() matches exactly, then one wildcard label, else the default', { skip }, () => {
  const certs = certificates()!
  const resolved = resolveTls([
    { ...certs.ecdsa, serverName: 'b.test' },
    { ...certs.rsa, serverName: '*.b.test' },
    certs.rsa,
  ])
  assert.equal(resolved.defaultIndex, 2)
  assert.equal(pickEntry(resolved, 'B.TEST'), 0)
  assert.equal(pickEntry(resolved, 'www.b.test'), 1)
  assert.equal(pickEntry(resolved, 'a.www.b.test'), 2)
  assert.equal(pickEntry(resolved, 'other.test'), 2)
  assert.equal(pickEntry(resolved, undefined), 2)
})

test('nodeTlsOptions(): node:tls serves the same ALPN, SNI and floor', { skip }, async () => {
  const certs = certificates()!
  const options = nodeTlsOptions(resolveTls([certs.rsa, { ...certs.ecdsa, serverName: 'b.test' }]), tls.createSecureContext)
  const server = tls.createServer(options, (socket) => socket.end(socket.alpnProtocol || 'none'))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  const connect = (extra: tls.ConnectionOptions) => tls.connect({ port, host: '127.0.0.1', ca: certs.ca, ALPNProtocols: ['http/1.1'], ...extra })
  const outcome = (client: tls.TLSSocket) => new Promise<{ error?: string; subject?: string; data: string }>((resolve) => {
    let data = ''
    let subject: string | undefined
    client.on('secureConnect', () => { subject = String(client.getPeerCertificate().subject.CN) })
    client.on('data', (part) => { data += part })
    client.on('end', () => resolve({ subject, data }))
    client.on('error', (error: Error & { code?: string }) => resolve({ error: error.code, data }))
  })
  assert.deepEqual(await outcome(connect({ servername: 'b.test' })), { subject: 'b.test', data: 'http/1.1' })
  assert.deepEqual(await outcome(connect({ servername: 'a.test' })), { subject: 'localhost', data: 'http/1.1' })
  assert.equal((await outcome(connect({ servername: 'a.test', minVersion: 'TLSv1.1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' }))).error, 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION')
  // A client that offers only h2 gets no_application_protocol (RFC 7301 §3.2), as from the epoll contexts.
  assert.equal((await outcome(connect({ servername: 'a.test', ALPNProtocols: ['h2'] }))).error, 'ERR_SSL_TLSV1_ALERT_NO_APPLICATION_PROTOCOL')
  await new Promise((resolve) => server.close(resolve))
})
