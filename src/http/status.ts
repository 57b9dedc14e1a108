/*
 * Precomputed response-head pieces: status lines, and the Date and Server lines.
 *
 * A status line is looked up, not formatted. The Date line (RFC 9110 §6.6.1) changes once a second, so it
 * is formatted at most once a second, on the first reply after the second turns; no timer is kept running.
 * For 200, the status line, Server and Date are one string.
 */

const REASONS: Record<number, string> = {
  100: 'Continue', 101: 'Switching Protocols',
  200: 'OK', 201: 'Created', 202: 'Accepted', 203: 'Non-Authoritative Information', 204: 'No Content',
  205: 'Reset Content', 206: 'Partial Content',
  300: 'Multiple Choices', 301: 'Moved Permanently', 302: 'Found', 303: 'See Other', 304: 'Not Modified',
  307: 'Temporary Redirect', 308: 'Permanent Redirect',
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed',
  406: 'Not Acceptable', 408: 'Request Timeout', 409: 'Conflict', 410: 'Gone', 411: 'Length Required',
  412: 'Precondition Failed', 413: 'Content Too Large', 414: 'URI Too Long', 415: 'Unsupported Media Type',
  416: 'Range Not Satisfiable', 417: 'Expectation Failed', 422: 'Unprocessable Content', 426: 'Upgrade Required',
  429: 'Too Many Requests', 431: 'Request Header Fields Too Large',
  500: 'Internal Server Error', 501: 'Not Implemented', 502: 'Bad Gateway', 503: 'Service Unavailable',
  504: 'Gateway Timeout', 505: 'HTTP Version Not Supported',
}

const statusLines: string[] = []
for (const [code, reason] of Object.entries(REASONS)) statusLines[Number(code)] = `HTTP/1.1 ${code} ${reason}\r\n`

/** "HTTP/1.1 200 OK\r\n"; a code without a known reason gets an empty one, which RFC 9112 §4 allows. */
export function statusLine(status: number): string {
  return statusLines[status] ?? `HTTP/1.1 ${status} \r\n`
}

/** The reason phrase of a status code ('' when unknown). */
export function reasonPhrase(status: number): string {
  return REASONS[status] ?? ''
}

let dateFromMs = 0
let dateUntilMs = 0
let dateLines = ''
let ok = ''

/** "Server: wirespeed\r\nDate: <IMF-fixdate>\r\n" for the second `nowMs` falls in. */
function serverAndDateLines(nowMs: number): string {
  if (nowMs >= dateUntilMs || nowMs < dateFromMs) {
    dateFromMs = nowMs - (nowMs % 1000)
    dateUntilMs = dateFromMs + 1000
    dateLines = `Server: wirespeed\r\nDate: ${new Date(dateFromMs).toUTCString()}\r\n`
    ok = statusLine(200) + dateLines
  }
  return dateLines
}

/** The status line, Server and Date: for 200, one string made once a second. */
export function headStart(status: number, nowMs: number): string {
  const lines = serverAndDateLines(nowMs)
  return status === 200 ? ok : statusLine(status) + lines
}

/** The head's start with a reason phrase of the handler's own (the fetch mode's `statusText`). */
export function headStartWithReason(status: number, reason: string, nowMs: number): string {
  return `HTTP/1.1 ${status} ${reason}\r\n${serverAndDateLines(nowMs)}`
}
