/*
 * OpenSSL, the copy inside the Node binary, bound through koffi: what src/tls needs to terminate (and
 * originate) TLS on a non-blocking socket that the epoll backend owns.
 *
 * Why the Node binary's copy: Node re-exports OpenSSL's symbols for addons, so `koffi.load(null)`
 * (dlopen(NULL)) finds `SSL_CTX_new` and the rest in the process itself. That is the very build Node's own
 * `tls` module runs (Node 26: OpenSSL 3.5), with no system libssl and no native addon. A system libssl is
 * never loaded: two OpenSSL builds in one process would share symbol names and not state.
 *
 * What needs care, each handled here and said again where it is used:
 * - Macros are not symbols. `SSL_CTX_set_min_proto_version`, `SSL_CTX_set_mode`, the servername callback,
 *   the chain certificates and the session-cache mode are all `SSL_CTX_ctrl`/`SSL_CTX_callback_ctrl` with a
 *   command number (the CTRL_* constants below, from openssl/ssl.h).
 * - `SSL_CTX_set_options` takes a uint64_t: a BigInt through koffi.
 * - `BIO_new_mem_buf` borrows its Buffer: the Buffer must outlive the BIO (pemBio() frees the BIO before it
 *   returns, while the caller still holds the Buffer).
 * - C callbacks (ALPN, SNI) are koffi.register()ed once per thread (each worker thread has its own module
 *   instance and its own OpenSSL thread state) and never per context; they must never throw, so each body
 *   is a try/catch that answers with a fatal alert.
 * - The error queue is per thread and shared with Node's own TLS on the main thread: whoever sees
 *   SSL_ERROR_SSL/SSL_ERROR_SYSCALL drains it (drainErrors()), so a failure of one connection never shows
 *   on another, nor in Node's `tls`. errno is read with `koffi.errno()` right after the failing call.
 * - An encrypted PEM key read without a passphrase would make OpenSSL ask on the terminal: pemPrivateKey()
 *   always passes one (an empty string when none was given), which OpenSSL uses instead of asking.
 */
import { SystemCallError } from '../errors.ts'
import { type Koffi, loadKoffi } from './koffi.ts'

// Return codes of SSL_get_error() (openssl/ssl.h).
export const SSL_ERROR_NONE = 0
export const SSL_ERROR_SSL = 1
export const SSL_ERROR_WANT_READ = 2
export const SSL_ERROR_WANT_WRITE = 3
export const SSL_ERROR_SYSCALL = 5
export const SSL_ERROR_ZERO_RETURN = 6

// SSL_CTX_ctrl() commands, the macros of ssl.h spelled out.
export const CTRL_EXTRA_CHAIN_CERT = 14
export const CTRL_MODE = 33
export const CTRL_SET_SESS_CACHE_MODE = 44
export const CTRL_SET_TLSEXT_SERVERNAME_CB = 53
export const CTRL_SET_TLSEXT_SERVERNAME_ARG = 54
export const CTRL_SET_TLSEXT_HOSTNAME = 55
export const CTRL_SET_TLSEXT_TICKET_KEYS = 59
export const CTRL_CHAIN_CERT = 89
export const CTRL_SET_DH_AUTO = 118
export const CTRL_SET_MIN_PROTO_VERSION = 123
export const CTRL_SET_MAX_PROTO_VERSION = 124

export const TLS1_2_VERSION = 0x0303
export const TLS1_3_VERSION = 0x0304

// SSL_CTX_set_mode() bits.
/** SSL_write_ex may write part of the bytes and say how many. */
export const SSL_MODE_ENABLE_PARTIAL_WRITE = 0x1
/** A retried write may pass the same bytes from another address (our Buffers move between batches). */
export const SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER = 0x2
/** Frees the 34 KiB of record buffers of a connection while it is idle. */
export const SSL_MODE_RELEASE_BUFFERS = 0x10

// SSL_CTX_set_options() bits (uint64_t).
/** A peer that closes without close_notify is an end (SSL_ERROR_ZERO_RETURN), not an error. */
export const SSL_OP_IGNORE_UNEXPECTED_EOF = 1n << 7n
/** Compression off: CRIME. (OpenSSL's default; stated so that nothing can turn it on.) */
export const SSL_OP_NO_COMPRESSION = 1n << 17n
/** No renegotiation in TLS 1.2, from either side. */
export const SSL_OP_NO_RENEGOTIATION = 1n << 30n

export const SSL_SESS_CACHE_OFF = 0
export const SSL_VERIFY_NONE = 0
export const SSL_VERIFY_PEER = 1
export const TLSEXT_NAMETYPE_host_name = 0
export const SSL_TLSEXT_ERR_OK = 0
export const SSL_TLSEXT_ERR_ALERT_FATAL = 2
export const OPENSSL_NPN_NEGOTIATED = 1

/** An opaque C pointer as koffi gives it (SSL_CTX *, SSL *, BIO *, X509 *, EVP_PKEY *). */
export type Pointer = object

type Call = (...args: unknown[]) => any

export interface OpenSsl {
  koffi: Koffi & { decode(pointer: unknown, type: string, length?: number): any; unregister(callback: unknown): void }
  /** The version of the OpenSSL these calls reach, e.g. "OpenSSL 3.5.8 1 Jul 2025". */
  version: string
  TLS_server_method: Call
  TLS_client_method: Call
  SSL_CTX_new: Call
  SSL_CTX_free: Call
  SSL_CTX_ctrl: Call
  /** SSL_CTX_ctrl with a pointer argument (chain certificates, ticket keys). */
  SSL_CTX_ctrlPointer: Call
  SSL_CTX_callback_ctrl: Call
  SSL_CTX_set_options: Call
  SSL_CTX_set_cipher_list: Call
  SSL_CTX_set_ciphersuites: Call
  SSL_CTX_set_num_tickets: Call
  SSL_CTX_use_certificate: Call
  SSL_CTX_use_PrivateKey: Call
  SSL_CTX_check_private_key: Call
  SSL_CTX_get_cert_store: Call
  SSL_CTX_set_verify: Call
  SSL_CTX_set_alpn_select_cb: Call
  SSL_CTX_set_alpn_protos: Call
  SSL_select_next_proto: Call
  SSL_new: Call
  SSL_free: Call
  SSL_set_fd: Call
  SSL_set_accept_state: Call
  SSL_set_connect_state: Call
  SSL_set1_host: Call
  SSL_ctrlString: Call
  SSL_do_handshake: Call
  SSL_is_init_finished: Call
  SSL_read_ex: Call
  /** SSL_read_ex into memory at an address (a Buffer's address() plus an offset; the caller keeps it alive). */
  SSL_read_exAt: Call
  SSL_write_ex: Call
  SSL_pending: Call
  SSL_get_error: Call
  SSL_shutdown: Call
  SSL_get_servername: Call
  SSL_get_SSL_CTX: Call
  SSL_set_SSL_CTX: Call
  SSL_get_version: Call
  SSL_get0_alpn_selected: Call
  SSL_session_reused: Call
  SSL_get_verify_result: Call
  SSL_get_rbio: Call
  BIO_number_read: Call
  BIO_new_mem_buf: Call
  BIO_free: Call
  PEM_read_bio_X509: Call
  PEM_read_bio_PrivateKey: Call
  X509_free: Call
  X509_get0_notAfter: Call
  X509_get0_notBefore: Call
  X509_cmp_current_time: Call
  X509_check_private_key: Call
  X509_STORE_add_cert: Call
  EVP_PKEY_free: Call
  ERR_get_error: Call
  ERR_error_string_n: Call
  ERR_clear_error: Call
  RAND_bytes: Call
  /** The prototypes of the two callbacks, for koffi.register(). */
  alpnSelectType: unknown
  servernameType: unknown
}

let openssl: OpenSsl | undefined

/**
 * The bound calls, loaded once per thread.
 * @throws KoffiMissingError without koffi; Error when the Node binary does not export OpenSSL (a build
 *   with a shared or no OpenSSL)
 * @example
 * const ssl = await loadOpenSsl()
 * const ctx = ssl.SSL_CTX_new(ssl.TLS_server_method())
 */
export async function loadOpenSsl(): Promise<OpenSsl> {
  if (openssl) return openssl
  const ffi = (await loadKoffi('TLS on the epoll backend', 'the node backend serves TLS through node:tls')) as OpenSsl['koffi']
  const lib = ffi.load(null)
  const f = (signature: string) => lib.func(signature) as Call
  // Distinct names per thread would not matter: koffi's prototypes are per module instance.
  const alpnSelectType = ffi.proto('int WirespeedAlpnSelect(void *ssl, void *out, void *outlen, void *in, uint32_t inlen, void *arg)')
  const servernameType = ffi.proto('int WirespeedServername(void *ssl, void *alert, intptr_t arg)')
  const bound: OpenSsl = {
    koffi: ffi,
    version: '',
    TLS_server_method: f('void *TLS_server_method()'),
    TLS_client_method: f('void *TLS_client_method()'),
    SSL_CTX_new: f('void *SSL_CTX_new(void *method)'),
    SSL_CTX_free: f('void SSL_CTX_free(void *ctx)'),
    SSL_CTX_ctrl: f('long SSL_CTX_ctrl(void *ctx, int cmd, long larg, intptr_t parg)'),
    SSL_CTX_ctrlPointer: f('long SSL_CTX_ctrl(void *ctx, int cmd, long larg, void *parg)'),
    SSL_CTX_callback_ctrl: f('long SSL_CTX_callback_ctrl(void *ctx, int cmd, WirespeedServername *callback)'),
    SSL_CTX_set_options: f('uint64_t SSL_CTX_set_options(void *ctx, uint64_t options)'),
    SSL_CTX_set_cipher_list: f('int SSL_CTX_set_cipher_list(void *ctx, const char *list)'),
    SSL_CTX_set_ciphersuites: f('int SSL_CTX_set_ciphersuites(void *ctx, const char *list)'),
    SSL_CTX_set_num_tickets: f('int SSL_CTX_set_num_tickets(void *ctx, size_t count)'),
    SSL_CTX_use_certificate: f('int SSL_CTX_use_certificate(void *ctx, void *x509)'),
    SSL_CTX_use_PrivateKey: f('int SSL_CTX_use_PrivateKey(void *ctx, void *key)'),
    SSL_CTX_check_private_key: f('int SSL_CTX_check_private_key(void *ctx)'),
    SSL_CTX_get_cert_store: f('void *SSL_CTX_get_cert_store(void *ctx)'),
    SSL_CTX_set_verify: f('void SSL_CTX_set_verify(void *ctx, int mode, void *callback)'),
    SSL_CTX_set_alpn_select_cb: f('void SSL_CTX_set_alpn_select_cb(void *ctx, WirespeedAlpnSelect *callback, void *arg)'),
    SSL_CTX_set_alpn_protos: f('int SSL_CTX_set_alpn_protos(void *ctx, const void *protos, unsigned int length)'),
    SSL_select_next_proto: f('int SSL_select_next_proto(void *out, void *outlen, intptr_t server, unsigned int serverlen, void *client, unsigned int clientlen)'),
    SSL_new: f('void *SSL_new(void *ctx)'),
    SSL_free: f('void SSL_free(void *ssl)'),
    SSL_set_fd: f('int SSL_set_fd(void *ssl, int fd)'),
    SSL_set_accept_state: f('void SSL_set_accept_state(void *ssl)'),
    SSL_set_connect_state: f('void SSL_set_connect_state(void *ssl)'),
    SSL_set1_host: f('int SSL_set1_host(void *ssl, const char *host)'),
    SSL_ctrlString: f('long SSL_ctrl(void *ssl, int cmd, long larg, const char *parg)'),
    SSL_do_handshake: f('int SSL_do_handshake(void *ssl)'),
    SSL_is_init_finished: f('int SSL_is_init_finished(void *ssl)'),
    SSL_read_ex: f('int SSL_read_ex(void *ssl, void *buffer, size_t count, void *read)'),
    SSL_read_exAt: f('int SSL_read_ex(void *ssl, intptr_t buffer, size_t count, void *read)'),
    SSL_write_ex: f('int SSL_write_ex(void *ssl, const void *buffer, size_t count, void *written)'),
    SSL_pending: f('int SSL_pending(void *ssl)'),
    SSL_get_error: f('int SSL_get_error(void *ssl, int ret)'),
    SSL_shutdown: f('int SSL_shutdown(void *ssl)'),
    SSL_get_servername: f('const char *SSL_get_servername(void *ssl, int type)'),
    SSL_get_SSL_CTX: f('void *SSL_get_SSL_CTX(void *ssl)'),
    SSL_set_SSL_CTX: f('void *SSL_set_SSL_CTX(void *ssl, void *ctx)'),
    SSL_get_version: f('const char *SSL_get_version(void *ssl)'),
    SSL_get0_alpn_selected: f('void SSL_get0_alpn_selected(void *ssl, _Out_ void **data, _Out_ uint32_t *length)'),
    SSL_session_reused: f('int SSL_session_reused(void *ssl)'),
    SSL_get_verify_result: f('long SSL_get_verify_result(void *ssl)'),
    SSL_get_rbio: f('void *SSL_get_rbio(void *ssl)'),
    BIO_number_read: f('uint64_t BIO_number_read(void *bio)'),
    BIO_new_mem_buf: f('void *BIO_new_mem_buf(const void *buffer, int length)'),
    BIO_free: f('int BIO_free(void *bio)'),
    PEM_read_bio_X509: f('void *PEM_read_bio_X509(void *bio, void *out, void *callback, void *passphrase)'),
    PEM_read_bio_PrivateKey: f('void *PEM_read_bio_PrivateKey(void *bio, void *out, void *callback, const char *passphrase)'),
    X509_free: f('void X509_free(void *x509)'),
    X509_get0_notAfter: f('void *X509_get0_notAfter(void *x509)'),
    X509_get0_notBefore: f('void *X509_get0_notBefore(void *x509)'),
    X509_cmp_current_time: f('int X509_cmp_current_time(void *time)'),
    X509_check_private_key: f('int X509_check_private_key(void *x509, void *key)'),
    X509_STORE_add_cert: f('int X509_STORE_add_cert(void *store, void *x509)'),
    EVP_PKEY_free: f('void EVP_PKEY_free(void *key)'),
    ERR_get_error: f('unsigned long ERR_get_error()'),
    ERR_error_string_n: f('void ERR_error_string_n(unsigned long code, void *buffer, size_t length)'),
    ERR_clear_error: f('void ERR_clear_error()'),
    RAND_bytes: f('int RAND_bytes(void *buffer, int count)'),
    alpnSelectType,
    servernameType,
  }
  bound.version = f('const char *OpenSSL_version(int type)')(0) as string
  openssl = bound
  return bound
}

const errorText = Buffer.alloc(256)

/**
 * Empties this thread's OpenSSL error queue and returns the first (oldest) entry as text, or undefined
 * when it was empty. Called after every SSL_ERROR_SSL/SSL_ERROR_SYSCALL and every failed setup call, so
 * the next caller on this thread (another connection, or Node's own `tls`) starts from an empty queue.
 */
export function drainErrors(ssl: OpenSsl): string | undefined {
  let first: string | undefined
  for (;;) {
    const code = ssl.ERR_get_error() as number
    if (!code) return first
    if (first === undefined) {
      ssl.ERR_error_string_n(code, errorText, errorText.length)
      first = errorText.toString('latin1', 0, errorText.indexOf(0))
    }
  }
}

/**
 * Reads PEM text from memory through a memory BIO. `read` gets the BIO and returns the object read (or
 * null); the BIO is freed before this returns, while `pem` is still held by the caller, as
 * BIO_new_mem_buf borrows the bytes instead of copying them.
 */
export function withPemBio<T>(ssl: OpenSsl, pem: Buffer, read: (bio: Pointer) => T): T {
  const bio = ssl.BIO_new_mem_buf(pem, pem.length) as Pointer | null
  if (!bio) throw new SystemCallError('BIO_new_mem_buf failed: out of memory', 'BIO_new_mem_buf', 0)
  try {
    return read(bio)
  } finally {
    ssl.BIO_free(bio)
  }
}

/** Every certificate in `pem`, in order (the leaf first, then its chain). The caller X509_free()s each. */
export function pemCertificates(ssl: OpenSsl, pem: Buffer): Pointer[] {
  return withPemBio(ssl, pem, (bio) => {
    const list: Pointer[] = []
    for (;;) {
      const x509 = ssl.PEM_read_bio_X509(bio, null, null, null) as Pointer | null
      if (!x509) break
      list.push(x509)
    }
    // The loop ends on "no start line" at the end of the text: expected, not an error.
    drainErrors(ssl)
    return list
  })
}

/**
 * The private key in `pem`, or null with the queue's first error (a wrong passphrase: "bad decrypt").
 * A passphrase is always passed (an empty one when none was given): with none, OpenSSL would prompt on
 * the terminal for an encrypted key.
 */
export function pemPrivateKey(ssl: OpenSsl, pem: Buffer, passphrase: string | undefined): { key: Pointer | null; error?: string } {
  return withPemBio(ssl, pem, (bio) => {
    const key = ssl.PEM_read_bio_PrivateKey(bio, null, null, passphrase ?? '') as Pointer | null
    if (key) return { key }
    return { key: null, error: drainErrors(ssl) }
  })
}
