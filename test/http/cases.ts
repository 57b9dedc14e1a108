/*
 * Requests the server must refuse, with the status RFC 9112 calls for. Used by the parser tests (at every
 * byte split) and by the server tests (over a real socket).
 */
export interface Rejection {
  name: string
  request: string
  status: number
}

const H = 'Host: example.com\r\n'

export const rejections: Rejection[] = [
  // Request line (RFC 9112 §3)
  { name: 'a lower-case version', request: `GET / http/1.1\r\n${H}\r\n`, status: 400 },
  { name: 'a version with two digits', request: `GET / HTTP/1.10\r\n${H}\r\n`, status: 400 },
  { name: 'HTTP/2.0 in the request line', request: `GET / HTTP/2.0\r\n${H}\r\n`, status: 505 },
  { name: 'HTTP/0.9 in the request line', request: `GET / HTTP/0.9\r\n${H}\r\n`, status: 505 },
  { name: 'two spaces after the method', request: `GET  / HTTP/1.1\r\n${H}\r\n`, status: 400 },
  { name: 'a tab between method and target', request: `GET\t/ HTTP/1.1\r\n${H}\r\n`, status: 400 },
  { name: 'a missing version', request: `GET /\r\n${H}\r\n`, status: 400 },
  { name: 'a space inside the target', request: `GET /a b HTTP/1.1\r\n${H}\r\n`, status: 400 },
  { name: 'a NUL in the target', request: `GET /a\0b HTTP/1.1\r\n${H}\r\n`, status: 400 },
  { name: 'a fragment in the target', request: `GET /a#b HTTP/1.1\r\n${H}\r\n`, status: 400 },
  { name: 'a non-ASCII byte in the target', request: `GET /\xe9 HTTP/1.1\r\n${H}\r\n`, status: 400 },
  { name: 'a relative target', request: `GET a/b HTTP/1.1\r\n${H}\r\n`, status: 400 },
  { name: 'asterisk-form with GET', request: `GET * HTTP/1.1\r\n${H}\r\n`, status: 400 },
  { name: 'a method with a slash', request: `GE/T / HTTP/1.1\r\n${H}\r\n`, status: 400 },
  { name: 'a method with a control byte', request: `G\x01ET / HTTP/1.1\r\n${H}\r\n`, status: 400 },
  { name: 'an unknown method', request: `BREW / HTTP/1.1\r\n${H}\r\n`, status: 501 },
  { name: 'CONNECT (no proxying here)', request: `CONNECT example.com:443 HTTP/1.1\r\n${H}\r\n`, status: 501 },
  { name: 'a TLS handshake', request: '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03', status: 400 },
  // Line endings (RFC 9112 §2.2)
  { name: 'a bare LF after the request line', request: `GET / HTTP/1.1\n${H}\r\n`, status: 400 },
  { name: 'a bare LF after a field', request: `GET / HTTP/1.1\r\nHost: a\n\r\n`, status: 400 },
  { name: 'a bare CR inside a field value', request: `GET / HTTP/1.1\r\n${H}X: a\rb\r\n\r\n`, status: 400 },
  { name: 'a bare CR in the request line', request: `GET /\r HTTP/1.1\r\n${H}\r\n`, status: 400 },
  // Field lines (RFC 9112 §5)
  { name: 'whitespace before the colon', request: `GET / HTTP/1.1\r\n${H}X-A : b\r\n\r\n`, status: 400 },
  { name: 'a tab before the colon', request: `GET / HTTP/1.1\r\n${H}X-A\t: b\r\n\r\n`, status: 400 },
  { name: 'obs-fold', request: `GET / HTTP/1.1\r\n${H}X-A: b\r\n c\r\n\r\n`, status: 400 },
  { name: 'whitespace before the first field', request: `GET / HTTP/1.1\r\n ${H}\r\n`, status: 400 },
  { name: 'a field line without a colon', request: `GET / HTTP/1.1\r\n${H}X-A b\r\n\r\n`, status: 400 },
  { name: 'an empty field name', request: `GET / HTTP/1.1\r\n${H}: b\r\n\r\n`, status: 400 },
  { name: 'a NUL in a field value', request: `GET / HTTP/1.1\r\n${H}X-A: a\0b\r\n\r\n`, status: 400 },
  { name: 'DEL in a field value', request: `GET / HTTP/1.1\r\n${H}X-A: a\x7fb\r\n\r\n`, status: 400 },
  { name: 'a control byte in a field value', request: `GET / HTTP/1.1\r\n${H}X-A: a\x0bb\r\n\r\n`, status: 400 },
  { name: 'a bracket in a field name', request: `GET / HTTP/1.1\r\n${H}X[A]: b\r\n\r\n`, status: 400 },
  { name: 'a non-ASCII byte in a field name', request: `GET / HTTP/1.1\r\n${H}X\xe9: b\r\n\r\n`, status: 400 },
  // Host (RFC 9112 §3.2)
  { name: 'a missing Host on HTTP/1.1', request: 'GET / HTTP/1.1\r\n\r\n', status: 400 },
  { name: 'two Host fields', request: `GET / HTTP/1.1\r\n${H}${H}\r\n`, status: 400 },
  { name: 'a Host with a space', request: 'GET / HTTP/1.1\r\nHost: a b\r\n\r\n', status: 400 },
  { name: 'a Host with a slash', request: 'GET / HTTP/1.1\r\nHost: a/b\r\n\r\n', status: 400 },
  { name: 'a Host with user info', request: 'GET / HTTP/1.1\r\nHost: u@a\r\n\r\n', status: 400 },
  { name: 'a Host with a bad port', request: 'GET / HTTP/1.1\r\nHost: a:8x\r\n\r\n', status: 400 },
  { name: 'a Host with two ports', request: 'GET / HTTP/1.1\r\nHost: a:1:2\r\n\r\n', status: 400 },
  { name: 'an unclosed IPv6 Host', request: 'GET / HTTP/1.1\r\nHost: [::1\r\n\r\n', status: 400 },
  // Message framing (RFC 9112 §6)
  { name: 'Content-Length with Transfer-Encoding', request: `POST / HTTP/1.1\r\n${H}Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`, status: 400 },
  { name: 'Transfer-Encoding with Content-Length', request: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\nabc`, status: 400 },
  { name: 'differing Content-Length fields', request: `POST / HTTP/1.1\r\n${H}Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd`, status: 400 },
  { name: 'a differing Content-Length list', request: `POST / HTTP/1.1\r\n${H}Content-Length: 3, 4\r\n\r\nabcd`, status: 400 },
  { name: 'a negative Content-Length', request: `POST / HTTP/1.1\r\n${H}Content-Length: -1\r\n\r\n`, status: 400 },
  { name: 'a signed Content-Length', request: `POST / HTTP/1.1\r\n${H}Content-Length: +3\r\n\r\nabc`, status: 400 },
  { name: 'a hex Content-Length', request: `POST / HTTP/1.1\r\n${H}Content-Length: 0x3\r\n\r\nabc`, status: 400 },
  { name: 'an empty Content-Length', request: `POST / HTTP/1.1\r\n${H}Content-Length: \r\n\r\n`, status: 400 },
  { name: 'a Content-Length with a space inside', request: `POST / HTTP/1.1\r\n${H}Content-Length: 1 2\r\n\r\n`, status: 400 },
  { name: 'a Transfer-Encoding not ending in chunked', request: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked, gzip\r\n\r\n`, status: 400 },
  { name: 'an unknown Transfer-Encoding', request: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: identity\r\n\r\n`, status: 400 },
  { name: 'chunked applied twice', request: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n`, status: 400 },
  { name: 'chunked split over two fields, twice', request: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`, status: 400 },
  { name: 'an empty Transfer-Encoding', request: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: \r\n\r\n`, status: 400 },
  { name: 'a misspelt chunked', request: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunkedx\r\n\r\n`, status: 400 },
  { name: 'chunked with a parameter', request: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked;q=1\r\n\r\n`, status: 400 },
  { name: 'gzip before chunked (not implemented)', request: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: gzip, chunked\r\n\r\n`, status: 501 },
  { name: 'Transfer-Encoding on HTTP/1.0', request: `POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`, status: 400 },
  // Chunked bodies (RFC 9112 §7.1)
  { name: 'a chunk size that is not hex', request: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nzz\r\n`, status: 400 },
  { name: 'a negative chunk size', request: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n-1\r\n`, status: 400 },
  { name: 'an empty chunk size', request: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n\r\n`, status: 400 },
  { name: 'a 0x prefix on a chunk size', request: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n0x3\r\nabc\r\n0\r\n\r\n`, status: 400 },
  { name: 'chunk data longer than its size', request: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3\r\nabcd\r\n0\r\n\r\n`, status: 400 },
  { name: 'a bare LF after a chunk size', request: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3\nabc\r\n0\r\n\r\n`, status: 400 },
  { name: 'a bare LF after chunk data', request: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3\r\nabc\n0\r\n\r\n`, status: 400 },
  { name: 'a space after a chunk size', request: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3 \r\nabc\r\n0\r\n\r\n`, status: 400 },
  { name: 'a chunk extension without a name', request: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3;\r\nabc\r\n0\r\n\r\n`, status: 400 },
  { name: 'a chunk extension with an unclosed quote', request: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3;a="b\r\nabc\r\n0\r\n\r\n`, status: 400 },
  { name: 'a control byte in a chunk extension', request: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3;a=\x01\r\nabc\r\n0\r\n\r\n`, status: 400 },
  { name: 'a trailer with obs-fold', request: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n0\r\nX: a\r\n b\r\n\r\n`, status: 400 },
  { name: 'a trailer with whitespace before the colon', request: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n0\r\nX : a\r\n\r\n`, status: 400 },
  // Expectations (RFC 9110 §10.1.1)
  { name: 'an unknown expectation', request: `POST / HTTP/1.1\r\n${H}Expect: 200-ok\r\nContent-Length: 1\r\n\r\na`, status: 417 },
]
