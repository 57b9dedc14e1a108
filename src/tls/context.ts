/*
 * TlsContext: the OpenSSL SSL_CTX objects for a resolved `tls` setting (tls/options.ts), one per entry,
 * for the epoll backend. Every context gets the same settings: TLS 1.2 to 1.3, Mozilla's intermediate
 * ciphers, no renegotiation, a peer's missing close_notify read as an end, partial writes from a moving
 * buffer, record buffers released while idle, stateless session tickets with no server-side cache, and
 * ALPN offering `http/1.1` only. With several entries the default entry's context carries a servername
 * callback that moves a connection to the named entry's context before the certificate is sent.
 *
 * Why contexts are built once and shared: SSL_CTX holds the parsed key and certificate and the ticket
 * keys; an SSL made from it takes a reference, so a reload that builds a new TlsContext and dispose()s the
 * old one leaves open connections their context until they end (OpenSSL frees it with the last one).
 *
 * The two C callbacks are registered once per thread (koffi.register is not free, and each registration
 * is a trampoline koffi keeps until unregistered) and find their context's SNI table through the integer
 * argument OpenSSL hands back, never through a closure per context.
 */
import assert from 'node:assert'
import { rootCertificates } from 'node:tls'
import { SystemCallError, TlsSetupError } from '../errors.ts'
import {
  CTRL_CHAIN_CERT, CTRL_MODE, CTRL_SET_DH_AUTO, CTRL_SET_MAX_PROTO_VERSION, CTRL_SET_MIN_PROTO_VERSION,
  CTRL_SET_SESS_CACHE_MODE, CTRL_SET_TLSEXT_SERVERNAME_ARG, CTRL_SET_TLSEXT_SERVERNAME_CB,
  CTRL_SET_TLSEXT_TICKET_KEYS, OPENSSL_NPN_NEGOTIATED, type OpenSsl, type Pointer, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER,
  SSL_MODE_ENABLE_PARTIAL_WRITE, SSL_MODE_RELEASE_BUFFERS, SSL_OP_IGNORE_UNEXPECTED_EOF, SSL_OP_NO_COMPRESSION,
  SSL_OP_NO_RENEGOTIATION, SSL_SESS_CACHE_OFF, SSL_TLSEXT_ERR_ALERT_FATAL, SSL_TLSEXT_ERR_OK, SSL_VERIFY_PEER,
  TLS1_2_VERSION, TLS1_3_VERSION, TLSEXT_NAMETYPE_host_name, drainErrors, loadOpenSsl, pemCertificates, pemPrivateKey,
} from '../ffi/openssl.ts'
import { ALPN_PROTOCOLS, pickEntry, type ResolvedTls, TLS12_CIPHERS, TLS13_CIPHERSUITES, type TlsSetting, resolveTls } from './options.ts'

/** ALPN's wire form of ALPN_PROTOCOLS (RFC 7301 §3.1: length-prefixed names), at a fixed address for the callback's answer. */
const alpnWire = (() => {
  const parts = ALPN_PROTOCOLS.map((name) => Buffer.concat([Buffer.of(name.length), Buffer.from(name, 'latin1')]))
  const bytes = Buffer.allocUnsafeSlow(parts.reduce((sum, part) => sum + part.length, 0))
  Buffer.concat(parts).copy(bytes)
  return bytes
})()

/** Session-ticket keys: 80 bytes (name 16, HMAC secret 32, AES key 32), SSL_CTX_set_tlsext_ticket_keys(). */
const TICKET_KEY_BYTES = 80

/** What one SSL_CTX is built from: a server's entry (tls/options.ts), or a client's trust alone. */
interface ContextEntry {
  readonly key?: Buffer
  readonly cert?: Buffer
  readonly ca?: Buffer
  readonly passphrase?: string
  readonly serverName?: string
  readonly label: string
}

interface SniTable {
  readonly tls: ResolvedTls
  readonly contexts: readonly Pointer[]
}

/** SNI tables by the id passed as the servername callback's argument. */
const sniTables = new Map<number, SniTable>()
let nextSniId = 1

interface Callbacks {
  alpnSelect: unknown
  servername: unknown
  alpnAddress: bigint
}
let callbacks: Callbacks | undefined

/** The two callbacks, registered on first use in this thread and kept for its life. */
function registerCallbacks(ssl: OpenSsl): Callbacks {
  if (callbacks) return callbacks
  const ffi = ssl.koffi
  const alpnAddress = ffi.address(alpnWire)
  const alpnSelect = ffi.register((_ssl: unknown, out: unknown, outLength: unknown, offered: unknown, offeredLength: number) => {
    try {
      // The answer points into alpnWire, which lives as long as this module.
      const result = ssl.SSL_select_next_proto(out, outLength, alpnAddress, alpnWire.length, offered, offeredLength)
      return result === OPENSSL_NPN_NEGOTIATED ? SSL_TLSEXT_ERR_OK : SSL_TLSEXT_ERR_ALERT_FATAL
    } catch {
      return SSL_TLSEXT_ERR_ALERT_FATAL
    }
  }, ffi.pointer(ssl.alpnSelectType))
  const servername = ffi.register((connection: unknown, _alert: unknown, id: number | bigint) => {
    try {
      const table = sniTables.get(Number(id))
      // A context disposed of while a handshake was under way: the connection keeps the default.
      if (!table) return SSL_TLSEXT_ERR_OK
      const name = ssl.SSL_get_servername(connection, TLSEXT_NAMETYPE_host_name) as string | null
      const index = pickEntry(table.tls, name ?? undefined)
      if (index !== table.tls.defaultIndex) ssl.SSL_set_SSL_CTX(connection, table.contexts[index])
      return SSL_TLSEXT_ERR_OK
    } catch {
      return SSL_TLSEXT_ERR_ALERT_FATAL
    }
  }, ffi.pointer(ssl.servernameType))
  callbacks = { alpnSelect, servername, alpnAddress }
  return callbacks
}

/**
 * The OpenSSL contexts of one `tls` setting: a server's (SNI among its entries) or a client's.
 * @example
 * const context = await TlsContext.create({ key, cert })
 * const session = new TlsSession(context, fd)
 * context.dispose() // open sessions keep it until they end
 */
export class TlsContext {
  readonly ssl: OpenSsl
  /** A server's resolved setting (a client's has no entries). */
  readonly tls: ResolvedTls
  readonly role: 'server' | 'client'
  readonly #contexts: Pointer[]
  readonly #sniId: number
  #disposed = false

  /**
   * Checks `setting` (resolveTls) and builds its contexts.
   * @throws TypeError/RangeError for a bad shape; TlsSetupError for a pair that cannot be served
   */
  static async create(setting: TlsSetting): Promise<TlsContext> {
    const tls = resolveTls(setting)
    const ssl = await loadOpenSsl()
    return new TlsContext(ssl, tls, 'server', tls.entries)
  }

  /**
   * A client's context: the peer's certificate is verified against `ca` (PEM), or without it against
   * the roots Node itself trusts (`tls.rootCertificates`), and its name against the session's servername.
   * Client certificates are not offered yet.
   * @example
   * const context = await TlsContext.createClient({ ca })
   * const session = new TlsSession(context, fd, 'example.com')
   */
  static async createClient(options: { ca?: string | Uint8Array } = {}): Promise<TlsContext> {
    if (options.ca !== undefined && typeof options.ca !== 'string' && !(options.ca instanceof Uint8Array)) throw new TypeError(`Invalid tls.ca: expected PEM text as a string or bytes, got ${typeof options.ca}`)
    const ca = options.ca === undefined ? Buffer.from(rootCertificates.join('\n'), 'latin1') : Buffer.from(options.ca as string | Uint8Array)
    const ssl = await loadOpenSsl()
    return new TlsContext(ssl, { entries: [], defaultIndex: 0 }, 'client', [{ ca, label: 'tls' }])
  }

  private constructor(ssl: OpenSsl, tls: ResolvedTls, role: 'server' | 'client', builds: readonly ContextEntry[]) {
    this.ssl = ssl
    this.tls = tls
    this.role = role
    this.#contexts = []
    try {
      for (const entry of builds) this.#contexts.push(this.#build(entry))
    } catch (error) {
      for (const context of this.#contexts) ssl.SSL_CTX_free(context)
      throw error
    }
    this.#sniId = 0
    if (role === 'server' && tls.entries.length > 1) {
      this.#sniId = nextSniId++
      sniTables.set(this.#sniId, { tls, contexts: this.#contexts })
      const defaultContext = this.#contexts[tls.defaultIndex]
      ssl.SSL_CTX_callback_ctrl(defaultContext, CTRL_SET_TLSEXT_SERVERNAME_CB, registerCallbacks(ssl).servername)
      ssl.SSL_CTX_ctrl(defaultContext, CTRL_SET_TLSEXT_SERVERNAME_ARG, 0, this.#sniId)
    }
  }

  /** The context a new connection starts on (the default entry's; SNI may move it). */
  get initial(): Pointer {
    assert(!this.#disposed, 'TlsContext used after dispose()')
    return this.#contexts[this.tls.defaultIndex]
  }

  #build(entry: ContextEntry): Pointer {
    const ssl = this.ssl
    const server = this.role === 'server'
    const context = ssl.SSL_CTX_new(server ? ssl.TLS_server_method() : ssl.TLS_client_method()) as Pointer | null
    if (!context) throw new SystemCallError(`SSL_CTX_new failed: ${drainErrors(ssl) ?? 'out of memory'}`, 'SSL_CTX_new', 0)
    const fail = (code: ConstructorParameters<typeof TlsSetupError>[0], what: string): never => {
      const reason = drainErrors(ssl)
      throw new TlsSetupError(code, `${what} of ${entry.label}${reason ? `: ${reason}` : ''}`, entry.serverName)
    }
    const certificates: Pointer[] = []
    let key: Pointer | null = null
    try {
      // Macros of ssl.h: SSL_CTX_set_min/max_proto_version, SSL_CTX_set_mode, SSL_CTX_set_session_cache_mode.
      ssl.SSL_CTX_ctrl(context, CTRL_SET_MIN_PROTO_VERSION, TLS1_2_VERSION, 0)
      ssl.SSL_CTX_ctrl(context, CTRL_SET_MAX_PROTO_VERSION, TLS1_3_VERSION, 0)
      ssl.SSL_CTX_ctrl(context, CTRL_MODE, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS, 0)
      ssl.SSL_CTX_set_options(context, SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION)
      // Not the user's fault: an OpenSSL built without these ciphers.
      if (!ssl.SSL_CTX_set_cipher_list(context, TLS12_CIPHERS)) throw new SystemCallError(`SSL_CTX_set_cipher_list refused Mozilla's intermediate ciphers: ${drainErrors(ssl)}`, 'SSL_CTX_set_cipher_list', 0)
      if (!ssl.SSL_CTX_set_ciphersuites(context, TLS13_CIPHERSUITES)) throw new SystemCallError(`SSL_CTX_set_ciphersuites refused the TLS 1.3 suites: ${drainErrors(ssl)}`, 'SSL_CTX_set_ciphersuites', 0)
      if (server) {
        // DHE suites with the RFC 7919 group sized to the key; stateless tickets, no server-side session cache.
        ssl.SSL_CTX_ctrl(context, CTRL_SET_DH_AUTO, 1, 0)
        ssl.SSL_CTX_ctrl(context, CTRL_SET_SESS_CACHE_MODE, SSL_SESS_CACHE_OFF, 0)
        ssl.SSL_CTX_set_num_tickets(context, 2)
        ssl.SSL_CTX_set_alpn_select_cb(context, registerCallbacks(ssl).alpnSelect, null)
      } else {
        ssl.SSL_CTX_set_alpn_protos(context, alpnWire, alpnWire.length)
        ssl.SSL_CTX_set_verify(context, SSL_VERIFY_PEER, null)
      }
      if (entry.cert && entry.key) {
        certificates.push(...pemCertificates(ssl, entry.cert))
        if (certificates.length === 0) fail('TLS_BAD_CERTIFICATE', 'No PEM certificate in the cert')
        const result = pemPrivateKey(ssl, entry.key, entry.passphrase)
        key = result.key
        if (!key) fail(entry.passphrase === undefined ? 'TLS_BAD_KEY' : 'TLS_BAD_PASSPHRASE', 'Cannot read the key')
        if (!ssl.X509_check_private_key(certificates[0], key)) fail('TLS_KEY_MISMATCH', 'The key does not match the certificate')
        if (!ssl.SSL_CTX_use_certificate(context, certificates[0])) fail('TLS_BAD_CERTIFICATE', 'Cannot use the certificate')
        // SSL_CTX_add1_chain_cert: the intermediates after the leaf, each up-referenced by OpenSSL.
        for (const chain of certificates.slice(1)) if (!ssl.SSL_CTX_ctrlPointer(context, CTRL_CHAIN_CERT, 1, chain)) fail('TLS_BAD_CERTIFICATE', 'Cannot add a chain certificate')
        if (!ssl.SSL_CTX_use_PrivateKey(context, key) || !ssl.SSL_CTX_check_private_key(context)) fail('TLS_KEY_MISMATCH', 'The key does not match the certificate')
      }
      if (entry.ca) {
        const store = ssl.SSL_CTX_get_cert_store(context)
        const trusted = pemCertificates(ssl, entry.ca)
        try {
          if (trusted.length === 0) fail('TLS_BAD_CERTIFICATE', 'No PEM certificate in the ca')
          for (const certificate of trusted) if (!ssl.X509_STORE_add_cert(store, certificate)) drainErrors(ssl)
        } finally {
          for (const certificate of trusted) ssl.X509_free(certificate)
        }
      }
      return context
    } catch (error) {
      ssl.SSL_CTX_free(context)
      throw error
    } finally {
      // The context took its own references to what it uses.
      for (const certificate of certificates) ssl.X509_free(certificate)
      if (key) ssl.EVP_PKEY_free(key)
    }
  }

  /**
   * New session-ticket keys (80 random bytes) for every context: tickets issued before stop resuming (those
   * clients make a full handshake), so that a stolen ticket key opens only the sessions of one period.
   */
  rotateTicketKeys(): void {
    const keys = Buffer.alloc(TICKET_KEY_BYTES)
    for (const context of this.#contexts) {
      if (this.ssl.RAND_bytes(keys, TICKET_KEY_BYTES) !== 1) throw new SystemCallError(`RAND_bytes failed: ${drainErrors(this.ssl)}`, 'RAND_bytes', 0)
      this.ssl.SSL_CTX_ctrlPointer(context, CTRL_SET_TLSEXT_TICKET_KEYS, TICKET_KEY_BYTES, keys)
    }
    keys.fill(0)
  }

  /** Lets the contexts go: new sessions cannot be made; open ones keep theirs (OpenSSL counts references). */
  dispose(): void {
    if (this.#disposed) return
    this.#disposed = true
    if (this.#sniId) sniTables.delete(this.#sniId)
    for (const context of this.#contexts) this.ssl.SSL_CTX_free(context)
  }
}
