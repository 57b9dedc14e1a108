/*
 * The `tls` option, in Bun.serve's shape, checked once and shared by both backends: `{ key, cert, ca?,
 * passphrase?, serverName? }` or an array of them for SNI. resolveTls() checks the shape (TypeError or
 * RangeError naming the option) and then each pair with node:crypto, so a wrong passphrase, a key that is
 * not the certificate's, or an expired certificate is a TlsSetupError at start that says which, on either
 * backend and without koffi. The epoll backend builds OpenSSL contexts from the result (tls/context.ts);
 * the node backend gives nodeTlsOptions() of it to node:tls. Either way the same versions (TLS 1.2 and
 * 1.3), ciphers (Mozilla's "intermediate") and ALPN (`http/1.1` only) are offered.
 *
 * SNI (RFC 6066 §3): one entry per host name; a name is matched case-insensitively, `*.example.com` matches
 * one label; a client that sends no name, or a name no entry has, gets the default entry (the first without
 * a serverName, else the first), as nginx does.
 */
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto'
import type { SecureContextOptions } from 'node:tls'
import { TlsSetupError } from '../errors.ts'

/** One certificate with its key: PEM text, as a string or bytes. */
export interface TlsOptions {
  /** The private key, PEM (PKCS#8, PKCS#1 or SEC1; encrypted when `passphrase` is given). */
  key: string | Uint8Array
  /** The certificate, PEM, followed by its chain (intermediates), leaf first. */
  cert: string | Uint8Array
  /** Certificates to trust, PEM: a client's roots, or on a server the CAs that client certificates may come from. */
  ca?: string | Uint8Array
  passphrase?: string
  /** The host name this certificate serves, for SNI (`example.com`, `*.example.com`). */
  serverName?: string
}

/** What `tls` takes: one certificate, or one per host name. */
export type TlsSetting = TlsOptions | readonly TlsOptions[]

/** One entry, checked: PEM as bytes, the host name in lower case. */
export interface TlsEntry {
  readonly key: Buffer
  readonly cert: Buffer
  readonly ca: Buffer | undefined
  readonly passphrase: string | undefined
  readonly serverName: string | undefined
  /** The certificate's end, for the status line and for reload checks. */
  readonly validTo: Date
  /** "tls" or "tls[2] (example.com)", for messages. */
  readonly label: string
}

/** The whole setting, checked. `entries[defaultIndex]` serves clients without a known name. */
export interface ResolvedTls {
  readonly entries: readonly TlsEntry[]
  readonly defaultIndex: number
}

/** TLS 1.2 is the floor: 1.0 and 1.1 are deprecated (RFC 8996) and refused with protocol_version. */
export const TLS_MIN_VERSION = 'TLSv1.2'
export const TLS_MAX_VERSION = 'TLSv1.3'

/**
 * Mozilla's "intermediate" configuration (ssl-config.mozilla.org, guidelines 5.7) for TLS 1.2: ECDHE (and
 * DHE with the RFC 7919 groups) with AEAD ciphers only, forward secrecy for every suite.
 */
export const TLS12_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384', 'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305', 'ECDHE-RSA-CHACHA20-POLY1305',
  'DHE-RSA-AES128-GCM-SHA256', 'DHE-RSA-AES256-GCM-SHA384', 'DHE-RSA-CHACHA20-POLY1305',
].join(':')

/** TLS 1.3's suites, all three of RFC 8446 §9.1 that are not CCM (OpenSSL's default, stated). */
export const TLS13_CIPHERSUITES = 'TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256'

/** ALPN (RFC 7301): HTTP/1.1 only, until HTTP/2 adds `h2`. A client offering none of these gets no_application_protocol. */
export const ALPN_PROTOCOLS: readonly string[] = ['http/1.1']

/** A host name (RFC 1123 labels) or a wildcard of one label; at most 253 bytes. */
const HOST_NAME = /^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/

const pemOf = (value: unknown, option: string): Buffer => {
  if (typeof value === 'string') return Buffer.from(value, 'latin1')
  if (value instanceof Uint8Array) return Buffer.from(value)
  throw new TypeError(`Invalid ${option}: expected PEM text as a string or bytes, got ${value === null ? 'null' : typeof value}`)
}

/**
 * Checks a `tls` setting: shape, then each pair (parse, passphrase, match, dates).
 * @param now the time to check the certificates' dates against (tests pass their own)
 * @throws TypeError/RangeError for a bad shape; TlsSetupError for a pair that cannot be served
 * @example
 * const tls = resolveTls([{ key, cert }, { key: key2, cert: cert2, serverName: 'b.example' }])
 */
export function resolveTls(setting: TlsSetting, now = new Date()): ResolvedTls {
  const list: readonly TlsOptions[] = Array.isArray(setting) ? setting : [setting as TlsOptions]
  if (list.length === 0) throw new RangeError('Invalid tls: expected one { key, cert } or an array of them, got an empty array')
  const single = !Array.isArray(setting)
  const seen = new Set<string>()
  const entries = list.map((options, index): TlsEntry => {
    const prefix = single ? 'tls' : `tls[${index}]`
    if (typeof options !== 'object' || options === null) throw new TypeError(`Invalid ${prefix}: expected { key, cert }`)
    let serverName: string | undefined
    if (options.serverName !== undefined) {
      if (typeof options.serverName !== 'string') throw new TypeError(`Invalid ${prefix}.serverName: expected a host name string`)
      serverName = options.serverName.toLowerCase()
      if (serverName.length > 253 || !HOST_NAME.test(serverName)) throw new RangeError(`Invalid ${prefix}.serverName: expected a host name such as example.com or *.example.com, got ${JSON.stringify(options.serverName)}`)
      if (seen.has(serverName)) throw new RangeError(`Invalid ${prefix}.serverName: ${serverName} is given twice`)
      seen.add(serverName)
    }
    if (options.passphrase !== undefined && typeof options.passphrase !== 'string') throw new TypeError(`Invalid ${prefix}.passphrase: expected a string`)
    const label = serverName ? `${prefix} (${serverName})` : prefix
    const key = pemOf(options.key, `${prefix}.key`)
    const cert = pemOf(options.cert, `${prefix}.cert`)
    const ca = options.ca === undefined ? undefined : pemOf(options.ca, `${prefix}.ca`)
    const validTo = checkPair(key, cert, options.passphrase, label, serverName, now)
    return { key, cert, ca, passphrase: options.passphrase, serverName, validTo, label }
  })
  const unnamed = entries.findIndex((entry) => entry.serverName === undefined)
  return { entries, defaultIndex: unnamed === -1 ? 0 : unnamed }
}

/** The checks OpenSSL would make at start, done with node:crypto so both backends give the same errors. */
function checkPair(keyPem: Buffer, certPem: Buffer, passphrase: string | undefined, label: string, serverName: string | undefined, now: Date): Date {
  const encrypted = /-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(keyPem.toString('latin1'))
  if (encrypted && passphrase === undefined) throw new TlsSetupError('TLS_BAD_PASSPHRASE', `The key of ${label} is encrypted: expected a passphrase`, serverName)
  let key: KeyObject
  try {
    key = createPrivateKey({ key: keyPem, format: 'pem', passphrase: passphrase ?? '' })
  } catch (error) {
    if (encrypted) throw new TlsSetupError('TLS_BAD_PASSPHRASE', `The passphrase of ${label} does not decrypt its key`, serverName)
    throw new TlsSetupError('TLS_BAD_KEY', `The key of ${label} is not a PEM private key: ${(error as Error).message}`, serverName)
  }
  let certificate: X509Certificate
  try {
    certificate = new X509Certificate(certPem)
  } catch (error) {
    throw new TlsSetupError('TLS_BAD_CERTIFICATE', `The certificate of ${label} is not a PEM certificate: ${(error as Error).message}`, serverName)
  }
  if (!certificate.checkPrivateKey(key)) throw new TlsSetupError('TLS_KEY_MISMATCH', `The key of ${label} does not match its certificate (${certificate.subject.replace(/\n/g, ', ')})`, serverName)
  const validFrom = new Date(certificate.validFrom)
  const validTo = new Date(certificate.validTo)
  if (validTo.getTime() < now.getTime()) throw new TlsSetupError('TLS_CERTIFICATE_EXPIRED', `The certificate of ${label} expired on ${validTo.toISOString()}`, serverName)
  if (validFrom.getTime() > now.getTime()) throw new TlsSetupError('TLS_CERTIFICATE_EXPIRED', `The certificate of ${label} is not valid before ${validFrom.toISOString()}`, serverName)
  return validTo
}

/**
 * The entry that serves `name`: exact match first, then a one-label wildcard, else the default.
 * @example
 * pickEntry(tls, 'www.example.com') // the *.example.com entry
 */
export function pickEntry(tls: ResolvedTls, name: string | undefined): number {
  if (name) {
    const lower = name.toLowerCase()
    let wildcard = -1
    const dot = lower.indexOf('.')
    const parent = dot === -1 ? undefined : `*${lower.slice(dot)}`
    for (let index = 0; index < tls.entries.length; index++) {
      const serverName = tls.entries[index].serverName
      if (serverName === lower) return index
      if (serverName === parent && wildcard === -1) wildcard = index
    }
    if (wildcard !== -1) return wildcard
  }
  return tls.defaultIndex
}

/** What node:tls's createServer() (or a TLSSocket) takes for a resolved `tls`. */
export interface NodeTlsServerOptions extends SecureContextOptions {
  ALPNProtocols: string[]
  SNICallback?: (servername: string, callback: (error: Error | null, context?: import('node:tls').SecureContext) => void) => void
}

/**
 * The same setting for the node backend: node:tls options with the same floor, ciphers and ALPN as the
 * OpenSSL contexts of the epoll backend, and an SNICallback choosing among one secure context per entry.
 * @example
 * const server = tls.createServer(nodeTlsOptions(resolveTls({ key, cert })), onSecureConnection)
 */
export function nodeTlsOptions(tls: ResolvedTls, createSecureContext: typeof import('node:tls').createSecureContext): NodeTlsServerOptions {
  const contextOptions = (entry: TlsEntry): SecureContextOptions => ({
    key: entry.key,
    cert: entry.cert,
    ca: entry.ca,
    passphrase: entry.passphrase,
    minVersion: TLS_MIN_VERSION,
    maxVersion: TLS_MAX_VERSION,
    // node:tls takes the TLS 1.3 suites in the same list (it splits them off by name).
    ciphers: `${TLS13_CIPHERSUITES}:${TLS12_CIPHERS}`,
    honorCipherOrder: false,
    // SSL_OP_NO_RENEGOTIATION, as on epoll (node:tls also limits client renegotiation on its own).
    secureOptions: 1 << 30,
  })
  const base: NodeTlsServerOptions = { ...contextOptions(tls.entries[tls.defaultIndex]), ALPNProtocols: [...ALPN_PROTOCOLS] }
  if (tls.entries.length > 1) {
    const contexts = tls.entries.map((entry) => createSecureContext(contextOptions(entry)))
    base.SNICallback = (servername, callback) => callback(null, contexts[pickEntry(tls, servername)])
  }
  return base
}
