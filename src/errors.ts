/*
 * Typed errors with a stable `code`.
 *
 * Bad input from the network is not an exception that escapes: the HTTP server turns an `HttpError` into a
 * reply with its status. The class exists so that the parser can stop at the first bad byte with one throw,
 * and so that tests and callers can match on `code` rather than on message text.
 */

/** The base of every error wirespeed throws on purpose. */
export class WirespeedError extends Error {
  readonly code: string
  constructor(code: string, message: string, options?: ErrorOptions) {
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
  constructor(status: number, code: string, message: string) {
    super(code, message)
    this.name = 'HttpError'
    this.status = status
  }
}
