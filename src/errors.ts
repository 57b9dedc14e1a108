/*
 * Every error wirespeed throws for an operating condition, each a `WirespeedError` with a stable `code`.
 *
 * One class per failure, named after what failed, each with its code from the closed `ErrorCode` union
 * below (undici's lib/core/errors.js is the model). Callers and our own code branch on `instanceof` or on
 * `code`, never on message text: messages are for people and may be reworded. Invalid arguments are not
 * operating conditions: they stay `RangeError`/`TypeError` (Node's convention), naming the option.
 *
 * Bad input from the network is not an exception that escapes: the HTTP server turns an `HttpError` into a
 * reply with its status. The class exists so that the parser can stop at the first bad byte with one throw.
 *
 * The codes, by area:
 *   HTTP (HttpError, answered with its status): the request codes in HttpErrorCode
 *   routes (RouteError, thrown by serve() at start): BAD_ROUTE, ROUTE_CONFLICT
 *   TCP: LISTEN_FAILED, CONNECT_FAILED, HOST_NOT_FOUND, FRAME_TOO_LARGE
 *   channels: CHANNEL_TIMEOUT, PEER_GONE, CHANNEL_CLOSED, CHANNEL_IN_USE, CHANNEL_BUSY, CHANNEL_NOT_FOUND,
 *     CHANNEL_INCOMPATIBLE, BRIDGE_FAILED
 *   the FFI and the system: KOFFI_MISSING, SYSTEM_CALL_FAILED, NODE_TOO_OLD
 *   files: PATH_NOT_FOUND, NOT_A_FOLDER, PATH_REFUSED, FILE_CHANGED
 *   threads: THREAD_EXITED, THREAD_TIMEOUT, WORKER_EXITED (a spawned function's own error is passed on as
 *     it was thrown, with its name and stack)
 *   the command line (UsageError): BAD_USAGE, UNKNOWN_OPTION
 *   TLS: TLS_BAD_KEY, TLS_BAD_PASSPHRASE, TLS_BAD_CERTIFICATE, TLS_KEY_MISMATCH, TLS_CERTIFICATE_EXPIRED
 *     (TlsSetupError, at start), TLS_FAILED (TlsError, one connection's handshake or record failed)
 */

/** The codes of requests the HTTP server refuses (each answered with the status its HttpError carries). */
export type HttpErrorCode =
  | 'BAD_CHUNK' | 'BAD_CONTENT_LENGTH' | 'BAD_PARAMETER' | 'BAD_FIELD_NAME' | 'BAD_FIELD_VALUE' | 'BAD_HOST' | 'BAD_METHOD'
  | 'BAD_TARGET' | 'BAD_TRANSFER_ENCODING' | 'BAD_VERSION' | 'BARE_LF' | 'BLANK_LINES' | 'BODY_TIMEOUT'
  | 'BODY_TOO_LARGE' | 'CONNECTION_CLOSED' | 'CONTENT_LENGTH_AND_TRANSFER_ENCODING' | 'EXPECTATION_FAILED'
  | 'HANDLER_FAILED' | 'HEADERS_TIMEOUT' | 'HEADERS_TOO_LARGE' | 'HEADER_TOO_LARGE' | 'INCOMPLETE_BODY'
  | 'INTERNAL' | 'METHOD_NOT_IMPLEMENTED' | 'MISSING_HOST' | 'MULTIPLE_CONTENT_TYPE' | 'MULTIPLE_HOST' | 'OBS_FOLD'
  | 'TOO_MANY_CONNECTIONS' | 'TOO_MANY_HEADERS' | 'TRACE_WITH_CONTENT' | 'UNSUPPORTED_TRANSFER_ENCODING' | 'URI_TOO_LONG'
  | 'VERSION_NOT_SUPPORTED'

/** Every code a WirespeedError can carry. */
export type ErrorCode =
  | HttpErrorCode
  | 'BAD_ROUTE' | 'ROUTE_CONFLICT'
  | 'LISTEN_FAILED' | 'CONNECT_FAILED' | 'HOST_NOT_FOUND' | 'FRAME_TOO_LARGE'
  | 'CHANNEL_TIMEOUT' | 'PEER_GONE' | 'CHANNEL_CLOSED' | 'CHANNEL_IN_USE' | 'CHANNEL_BUSY' | 'CHANNEL_NOT_FOUND'
  | 'CHANNEL_INCOMPATIBLE' | 'BRIDGE_FAILED'
  | 'KOFFI_MISSING' | 'SYSTEM_CALL_FAILED' | 'NODE_TOO_OLD'
  | 'PATH_NOT_FOUND' | 'NOT_A_FOLDER' | 'PATH_REFUSED' | 'FILE_CHANGED'
  | 'THREAD_EXITED' | 'THREAD_TIMEOUT' | 'WORKER_EXITED'
  | 'BAD_USAGE' | 'UNKNOWN_OPTION'
  | TlsSetupErrorCode | 'TLS_FAILED'

/** The codes of a TLS certificate/key pair refused at start. */
export type TlsSetupErrorCode =
  | 'TLS_BAD_KEY' | 'TLS_BAD_PASSPHRASE' | 'TLS_BAD_CERTIFICATE' | 'TLS_KEY_MISMATCH' | 'TLS_CERTIFICATE_EXPIRED'

/**
 * The base of every error wirespeed throws on purpose.
 * @example
 * try { await listen({ port: 80, handlers }) } catch (error) { if (error instanceof WirespeedError && error.code === 'LISTEN_FAILED') … }
 */
export class WirespeedError extends Error {
  readonly code: ErrorCode
  constructor(code: ErrorCode, message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'WirespeedError'
    this.code = code
  }
}

/**
 * A request the server refuses, with the status to answer. After it the connection is closed: once framing
 * is in doubt, no further byte on it can be trusted (RFC 9112 §11.2).
 * @example
 * throw new HttpError(431, 'HEADER_TOO_LARGE', 'Header fields exceed headerBytesMax (16384 bytes)')
 */
export class HttpError extends WirespeedError {
  readonly status: number
  constructor(status: number, code: HttpErrorCode, message: string) {
    super(code, message)
    this.name = 'HttpError'
    this.status = status
  }
}

// Routes

/** A route table that cannot be served: a bad key (BAD_ROUTE) or two routes for one method and path (ROUTE_CONFLICT). */
export class RouteError extends WirespeedError {
  constructor(code: 'BAD_ROUTE' | 'ROUTE_CONFLICT', message: string) {
    super(code, message)
    this.name = 'RouteError'
  }
}

// TCP

/** `listen()` could not bind: `reason` is the system's code (EADDRINUSE, EACCES, EADDRNOTAVAIL...). */
export class ListenError extends WirespeedError {
  readonly reason: string
  constructor(message: string, reason: string, options?: ErrorOptions) {
    super('LISTEN_FAILED', message, options)
    this.name = 'ListenError'
    this.reason = reason
  }
}

/** `connect()` could not reach the peer: `reason` is the system's code (ECONNREFUSED, ENOENT...). */
export class ConnectError extends WirespeedError {
  readonly reason: string
  constructor(message: string, reason: string, options?: ErrorOptions) {
    super('CONNECT_FAILED', message, options)
    this.name = 'ConnectError'
    this.reason = reason
  }
}

/** A host name did not resolve (getaddrinfo). */
export class HostNotFoundError extends WirespeedError {
  constructor(message: string, options?: ErrorOptions) {
    super('HOST_NOT_FOUND', message, options)
    this.name = 'HostNotFoundError'
  }
}

/** A frame that cannot be accepted (over the size limit). */
export class FrameError extends WirespeedError {
  constructor(message: string) {
    super('FRAME_TOO_LARGE', message)
    this.name = 'FrameError'
  }
}

// Channels

/** `receive()` waited longer than its timeout. */
export class ChannelTimeoutError extends WirespeedError {
  constructor(message: string) {
    super('CHANNEL_TIMEOUT', message)
    this.name = 'ChannelTimeoutError'
  }
}

/** The other side closed the channel or died. */
export class PeerGoneError extends WirespeedError {
  constructor(message: string) {
    super('PEER_GONE', message)
    this.name = 'PeerGoneError'
  }
}

/** This side of the channel was closed, and then used. */
export class ChannelClosedError extends WirespeedError {
  constructor(message: string) {
    super('CHANNEL_CLOSED', message)
    this.name = 'ChannelClosedError'
  }
}

/** A channel of that name belongs to a creator that is still running (`pid`): it is not replaced. */
export class ChannelInUseError extends WirespeedError {
  readonly pid: number
  constructor(message: string, pid: number) {
    super('CHANNEL_IN_USE', message)
    this.name = 'ChannelInUseError'
    this.pid = pid
  }
}

/** The channel already serves another opener (`pid`), one at a time. */
export class ChannelBusyError extends WirespeedError {
  readonly pid: number
  constructor(message: string, pid: number) {
    super('CHANNEL_BUSY', message)
    this.name = 'ChannelBusyError'
    this.pid = pid
  }
}

/** No channel of that name exists (its creator has not started, or has gone). */
export class ChannelNotFoundError extends WirespeedError {
  constructor(message: string) {
    super('CHANNEL_NOT_FOUND', message)
    this.name = 'ChannelNotFoundError'
  }
}

/** The memory does not hold a channel this build can talk to (another magic, layout or size). */
export class ChannelIncompatibleError extends WirespeedError {
  constructor(message: string) {
    super('CHANNEL_INCOMPATIBLE', message)
    this.name = 'ChannelIncompatibleError'
  }
}

/** The thread that bridges a channel to TCP failed before the channel was ready. */
export class BridgeError extends WirespeedError {
  constructor(message: string, options?: ErrorOptions) {
    super('BRIDGE_FAILED', message, options)
    this.name = 'BridgeError'
  }
}

// The FFI and the system

/** A feature needs the optional dependency koffi, which did not load. */
export class KoffiMissingError extends WirespeedError {
  constructor(message: string, options?: ErrorOptions) {
    super('KOFFI_MISSING', message, options)
    this.name = 'KoffiMissingError'
  }
}

/** A system call made through the FFI failed: `call` is its name, `errno` the error number. */
export class SystemCallError extends WirespeedError {
  readonly call: string
  readonly errno: number
  constructor(message: string, call: string, errno: number) {
    super('SYSTEM_CALL_FAILED', message)
    this.name = 'SystemCallError'
    this.call = call
    this.errno = errno
  }
}

/** A feature needs a newer Node than the one running. */
export class NodeTooOldError extends WirespeedError {
  constructor(message: string) {
    super('NODE_TOO_OLD', message)
    this.name = 'NodeTooOldError'
  }
}

// Files

/** A file or folder that was to be served or watched does not exist. */
export class PathNotFoundError extends WirespeedError {
  constructor(message: string) {
    super('PATH_NOT_FOUND', message)
    this.name = 'PathNotFoundError'
  }
}

/** A folder was expected and something else was found (a file, say). */
export class NotAFolderError extends WirespeedError {
  constructor(message: string) {
    super('NOT_A_FOLDER', message)
    this.name = 'NotAFolderError'
  }
}

/** A request path that static serving refuses, with the status to answer (400 or 404). */
export class PathRefusedError extends WirespeedError {
  readonly status: number
  constructor(status: number, message: string) {
    super('PATH_REFUSED', message)
    this.name = 'PathRefusedError'
    this.status = status
  }
}

/** A file changed under a reply that was streaming it. */
export class FileChangedError extends WirespeedError {
  constructor(message: string) {
    super('FILE_CHANGED', message)
    this.name = 'FileChangedError'
  }
}

// Threads

/** A spawned thread ended without a result: it exited (THREAD_EXITED) or passed its timeout (THREAD_TIMEOUT). */
export class ThreadError extends WirespeedError {
  constructor(code: 'THREAD_EXITED' | 'THREAD_TIMEOUT', message: string) {
    super(code, message)
    this.name = 'ThreadError'
  }
}

/** A serving worker thread exited before it was listening. */
export class WorkerExitedError extends WirespeedError {
  constructor(message: string) {
    super('WORKER_EXITED', message)
    this.name = 'WorkerExitedError'
  }
}

// The command line

/**
 * A `wirespeed` command was given what it cannot take: an option it does not have (UNKNOWN_OPTION, with
 * `unknownOption` naming it as typed), or a bad value, a missing argument, a folder that is not there
 * (BAD_USAGE). The command prints it in one line and exits 2.
 * @example
 * throw new UsageError('Missing --name: expected a shared-memory object name such as /demo')
 */
export class UsageError extends WirespeedError {
  readonly unknownOption: string | undefined
  constructor(message: string, unknownOption?: string) {
    super(unknownOption === undefined ? 'BAD_USAGE' : 'UNKNOWN_OPTION', message)
    this.name = 'UsageError'
    this.unknownOption = unknownOption
  }
}

// TLS

/**
 * A certificate and key that cannot be served, found when the server starts (or reloads): a key that does
 * not parse (TLS_BAD_KEY), an encrypted key with a missing or wrong passphrase (TLS_BAD_PASSPHRASE), a
 * certificate that does not parse (TLS_BAD_CERTIFICATE), a key that is not the certificate's
 * (TLS_KEY_MISMATCH), a certificate past its end or before its start (TLS_CERTIFICATE_EXPIRED).
 * `serverName` names the entry of an SNI list it came from.
 * @example
 * throw new TlsSetupError('TLS_KEY_MISMATCH', 'The key of tls[1] (example.com) does not match its certificate', 'example.com')
 */
export class TlsSetupError extends WirespeedError {
  readonly serverName: string | undefined
  constructor(code: TlsSetupErrorCode, message: string, serverName?: string) {
    super(code, message)
    this.name = 'TlsSetupError'
    this.serverName = serverName
  }
}

/**
 * One connection's TLS failed (TLS_FAILED): a bad record, a refused protocol version, a reset. It ends that
 * connection only; `reason` is OpenSSL's own text ("error:0A00010B:SSL routines::wrong version number").
 * @example
 * if (session.error?.code === 'TLS_FAILED') log(session.error.reason)
 */
export class TlsError extends WirespeedError {
  readonly reason: string
  constructor(message: string, reason: string) {
    super('TLS_FAILED', message)
    this.name = 'TlsError'
    this.reason = reason
  }
}
