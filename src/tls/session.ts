/*
 * TlsSession: one connection's TLS over a non-blocking socket fd, for the epoll backend. OpenSSL reads and
 * writes the fd itself (SSL_set_fd); this class turns its answers into the few outcomes a loop acts on.
 *
 *   new TlsSession ──▶ handshake ──(finished)──▶ open ──close()──▶ closing ──▶ closed
 *                         │   ▲                    │ ▲                          ▲
 *                 WANT_READ / WANT_WRITE:   read() / write() → bytes,           │
 *                 wait for that readiness   or WANT_READ / WANT_WRITE           │
 *                         └──────── SSL_ERROR_SSL / SYSCALL ──▶ failed ─────────┘ (error set, queue drained)
 *
 * Every call answers a number: bytes (≥ 0), or one of the TLS_* outcomes below. No OpenSSL failure is
 * thrown: a bad record, a refused version, a reset end this connection with `error` (a TlsError with
 * OpenSSL's reason) and TLS_FAILED, after the thread's error queue is drained, so the next connection on
 * this thread (or Node's own `tls`) never sees this one's errors. The queue is not cleared before each
 * call: that costs ~116 ns a call (~10% per request, measured in issue 37's prototype); draining after the
 * two failures that leave entries is enough.
 *
 * How the loop drives it (the rules OpenSSL sets, SSL_read_ex(3), SSL_write_ex(3)):
 * - After SSL_set_accept_state() the handshake runs inside the first read() (or handshake()).
 * - read() until TLS_WANT_READ: OpenSSL may hold whole records it has already taken from the socket, which
 *   epoll cannot see; `pending` says how many decrypted bytes wait.
 * - A write() that answers TLS_WANT_WRITE (or writes part) is retried with the same remaining bytes once
 *   the socket is writable (partial-write mode: what was written is not sent again; moving-buffer mode: the
 *   retry may come from another Buffer holding the same bytes).
 * - Either call may answer the other WANT (a TLS 1.3 key update or a post-handshake message): the loop
 *   waits for that readiness and calls again.
 */
import assert from 'node:assert'
import { constants } from 'node:os'
import { SystemCallError, TlsError } from '../errors.ts'
import {
  CTRL_SET_TLSEXT_HOSTNAME, type OpenSsl, type Pointer, SSL_ERROR_SYSCALL, SSL_ERROR_WANT_READ,
  SSL_ERROR_WANT_WRITE, SSL_ERROR_ZERO_RETURN, TLSEXT_NAMETYPE_host_name, drainErrors,
} from '../ffi/openssl.ts'
import type { TlsContext } from './context.ts'

/** The socket must become readable before the call can go on. */
export const TLS_WANT_READ = -1
/** The socket must become writable before the call can go on. */
export const TLS_WANT_WRITE = -2
/** The peer ended the session (close_notify, or a close without it: SSL_OP_IGNORE_UNEXPECTED_EOF). */
export const TLS_CLOSED = -3
/** The session failed: `error` says why. The connection must be closed, without close_notify. */
export const TLS_FAILED = -4

export type TlsState = 'handshake' | 'open' | 'closing' | 'closed' | 'failed'

const errnoNames = new Map<number, string>(Object.entries(constants.errno).map(([name, value]) => [value, name]))

/** size_t out-parameters of SSL_read_ex/SSL_write_ex, shared: a call finishes before the next starts. */
const sizeOut = Buffer.alloc(8)

/**
 * One connection's TLS.
 * @example
 * const session = new TlsSession(context, fd)
 * for (;;) {
 *   const n = session.read(buffer)
 *   if (n === TLS_WANT_READ) break // wait for EPOLLIN
 *   if (n < 0) return close(fd)     // TLS_CLOSED or TLS_FAILED (session.error)
 *   handle(buffer.subarray(0, n))
 * }
 */
export class TlsSession {
  readonly #ssl: OpenSsl
  #connection: Pointer | null
  state: TlsState = 'handshake'
  /** Why the session failed, once state is 'failed'. */
  error: TlsError | undefined

  /**
   * @param servername a client's SNI name and the name its peer's certificate must carry (required for a
   *   client: without it the certificate's name would not be checked)
   * @throws Error when OpenSSL cannot make the session (out of memory), or `context` is disposed of
   */
  constructor(context: TlsContext, fd: number, servername?: string) {
    const ssl = context.ssl
    this.#ssl = ssl
    const connection = ssl.SSL_new(context.initial) as Pointer | null
    if (!connection) throw new SystemCallError(`SSL_new failed: ${drainErrors(ssl) ?? 'out of memory'}`, 'SSL_new', 0)
    this.#connection = connection
    if (!ssl.SSL_set_fd(connection, fd)) {
      this.free()
      throw new SystemCallError(`SSL_set_fd failed: ${drainErrors(ssl)}`, 'SSL_set_fd', 0)
    }
    if (context.role === 'server') {
      ssl.SSL_set_accept_state(connection)
    } else {
      if (!servername) {
        this.free()
        throw new TypeError('A client TlsSession needs a servername: expected the host name its peer\'s certificate must carry')
      }
      {
        // SSL_set_tlsext_host_name() is a macro of SSL_ctrl.
        ssl.SSL_ctrlString(connection, CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, servername)
        ssl.SSL_set1_host(connection, servername)
      }
      ssl.SSL_set_connect_state(connection)
    }
  }

  /** Drives the handshake: 0 once finished, else TLS_WANT_READ, TLS_WANT_WRITE, TLS_CLOSED or TLS_FAILED. */
  handshake(): number {
    const connection = this.#connection
    if (!connection) return this.state === 'failed' ? TLS_FAILED : TLS_CLOSED
    if (this.state !== 'handshake') return 0
    const result = this.#ssl.SSL_do_handshake(connection) as number
    if (result === 1) {
      this.state = 'open'
      return 0
    }
    return this.#failed(connection, result, 'handshake')
  }

  /**
   * Decrypts into `buffer` from `offset`: the bytes read (> 0), or an outcome. Runs the handshake first when
   * it is not finished (a server's first read answers TLS_WANT_READ until the client's Finished arrives).
   */
  read(buffer: Uint8Array, offset = 0, length = buffer.length - offset): number {
    const connection = this.#connection
    if (!connection) return this.state === 'failed' ? TLS_FAILED : TLS_CLOSED
    const target = offset === 0 && length === buffer.length ? buffer : buffer.subarray(offset, offset + length)
    const ok = this.#ssl.SSL_read_ex(connection, target, length, sizeOut) as number
    if (ok === 1) {
      if (this.state === 'handshake') this.state = 'open'
      return sizeOut.readUInt32LE(0)
    }
    return this.#failed(connection, ok, 'read')
  }

  /**
   * Encrypts and sends `bytes`: how many were taken (all or part, > 0), or an outcome. After a part or
   * TLS_WANT_WRITE, call again with the bytes not taken once the socket is writable.
   */
  write(bytes: Uint8Array): number {
    const connection = this.#connection
    if (!connection) return this.state === 'failed' ? TLS_FAILED : TLS_CLOSED
    if (bytes.length === 0) return 0
    const ok = this.#ssl.SSL_write_ex(connection, bytes, bytes.length, sizeOut) as number
    if (ok === 1) {
      if (this.state === 'handshake') this.state = 'open'
      return sizeOut.readUInt32LE(0)
    }
    return this.#failed(connection, ok, 'write')
  }

  /** Decrypted bytes OpenSSL holds that a read() would return without the socket (drain before waiting). */
  get pending(): number {
    return this.#connection ? this.#ssl.SSL_pending(this.#connection) as number : 0
  }

  /**
   * Sends close_notify (RFC 8446 §6.1): 0 once sent, TLS_WANT_WRITE to call again when writable. The peer's
   * close_notify is not awaited (a server closes the socket next, as nginx does).
   */
  close(): number {
    const connection = this.#connection
    if (!connection) return 0
    if (this.state === 'failed') return 0
    if (this.state === 'handshake') {
      // No close_notify before the handshake finished: there is no session to close.
      this.state = 'closed'
      return 0
    }
    this.state = 'closing'
    const result = this.#ssl.SSL_shutdown(connection) as number
    if (result >= 0) {
      this.state = 'closed'
      return 0
    }
    const outcome = this.#failed(connection, result, 'close')
    if (outcome === TLS_WANT_WRITE || outcome === TLS_WANT_READ) this.state = 'closing'
    return outcome === TLS_WANT_WRITE ? TLS_WANT_WRITE : 0
  }

  /** Frees OpenSSL's state (the fd stays open: the connection closes it). Safe to call twice. */
  free(): void {
    if (!this.#connection) return
    this.#ssl.SSL_free(this.#connection)
    this.#connection = null
    if (this.state !== 'failed') this.state = 'closed'
  }

  /** The ALPN protocol agreed ("http/1.1"), or undefined. */
  get alpn(): string | undefined {
    if (!this.#connection) return undefined
    const data: unknown[] = [null]
    const length: number[] = [0]
    this.#ssl.SSL_get0_alpn_selected(this.#connection, data, length)
    return length[0] ? this.#ssl.koffi.decode(data[0], 'char', length[0]) as string : undefined
  }

  /** The SNI name the client sent, or undefined. */
  get servername(): string | undefined {
    return this.#connection ? (this.#ssl.SSL_get_servername(this.#connection, TLSEXT_NAMETYPE_host_name) as string | null) ?? undefined : undefined
  }

  /** "TLSv1.3" or "TLSv1.2". */
  get version(): string | undefined {
    return this.#connection ? this.#ssl.SSL_get_version(this.#connection) as string : undefined
  }

  /**
   * Bytes OpenSSL has read from the socket so far (the socket BIO's count): during the handshake, what a
   * limit on handshake bytes compares against, as OpenSSL reads the fd itself.
   */
  get bytesRead(): number {
    return this.#connection ? Number(this.#ssl.BIO_number_read(this.#ssl.SSL_get_rbio(this.#connection))) : 0
  }

  /** Whether the session was resumed from a ticket. */
  get reused(): boolean {
    return this.#connection ? this.#ssl.SSL_session_reused(this.#connection) === 1 : false
  }

  /** Checks the state against what is held: a failed session has its error, a freed one is closed or failed. */
  invariants(): void {
    assert((this.state === 'failed') === (this.error !== undefined), `state ${this.state} with error ${this.error?.message}`)
    if (!this.#connection) assert(this.state === 'closed' || this.state === 'failed', `freed in state ${this.state}`)
  }

  /** Maps a failed call to its outcome; on SSL_ERROR_SSL/SYSCALL drains the queue and records the error. */
  #failed(connection: Pointer, result: number, operation: string): number {
    // errno first: anything after the failing call may change it.
    const errno = this.#ssl.koffi.errno()
    const code = this.#ssl.SSL_get_error(connection, result) as number
    if (code === SSL_ERROR_WANT_READ) return TLS_WANT_READ
    if (code === SSL_ERROR_WANT_WRITE) return TLS_WANT_WRITE
    if (code === SSL_ERROR_ZERO_RETURN) {
      this.state = 'closed'
      return TLS_CLOSED
    }
    const reason = drainErrors(this.#ssl)
    if (code === SSL_ERROR_SYSCALL && reason === undefined && errno === 0) {
      // The socket ended with no TLS error and no errno: an end without close_notify.
      this.state = 'closed'
      return TLS_CLOSED
    }
    const why = reason ?? (code === SSL_ERROR_SYSCALL ? (errnoNames.get(errno) ?? `errno ${errno}`) : `SSL_get_error ${code}`)
    const phase = this.state === 'handshake' ? 'handshake' : operation
    this.state = 'failed'
    this.error = new TlsError(`TLS ${phase} failed: ${why}`, why)
    return TLS_FAILED
  }
}
