import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import { resolveLimits } from '../../src/limits.ts'
import { assertNoOpenHandles } from '../helpers/raw-client.ts'
import { rejections } from './cases.ts'
import { feed, settle, splits, type FeedResult } from './parse-harness.ts'

after(assertNoOpenHandles)

async function feedEverySplit(text: string, limits = resolveLimits()): Promise<FeedResult> {
  const bytes = Buffer.from(text, 'latin1')
  let first: FeedResult | undefined
  for (const pieces of splits(bytes)) {
    const result = feed(pieces, limits)
    await settle()
    if (first === undefined) first = result
    else assert.deepEqual(result, first, `Split into ${pieces.map((piece) => piece.length).join('+')} bytes differs`)
  }
  return first!
}

describe('RequestParser at every byte split', () => {
  test('parses a simple GET', async () => {
    const result = await feedEverySplit('GET /a/b?c=d HTTP/1.1\r\nHost: example.com\r\nAccept: text/html\r\n\r\n')
    assert.deepEqual(result.requests, [
      { method: 'GET', url: '/a/b?c=d', version: 'HTTP/1.1', headers: [['Host', 'example.com'], ['Accept', 'text/html']], body: '' },
    ])
    assert.equal(result.incomplete, false)
  })

  test('trims optional whitespace around field values and keeps inner spaces', async () => {
    const result = await feedEverySplit('GET / HTTP/1.1\r\nHost:example.com\r\nX-A: \t a  b \t\r\nX-Empty:\r\n\r\n')
    assert.deepEqual(result.requests[0]!.headers, [['Host', 'example.com'], ['X-A', 'a  b'], ['X-Empty', '']])
  })

  test('accepts obs-text in field values', async () => {
    const result = await feedEverySplit('GET / HTTP/1.1\r\nHost: a\r\nX-A: caf\xe9\r\n\r\n')
    assert.equal(result.requests[0]!.headers[1]![1], 'caf\xe9')
  })

  test('ignores empty lines before the request line (RFC 9112 §2.2)', async () => {
    const result = await feedEverySplit('\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n')
    assert.equal(result.requests.length, 1)
  })

  test('parses HTTP/1.0 without Host, and treats HTTP/1.2 as 1.1', async () => {
    assert.equal((await feedEverySplit('GET / HTTP/1.0\r\n\r\n')).requests[0]!.version, 'HTTP/1.0')
    assert.equal((await feedEverySplit('GET / HTTP/1.2\r\nHost: a\r\n\r\n')).requests[0]!.version, 'HTTP/1.1')
  })

  test('accepts absolute-form, asterisk-form for OPTIONS, an empty Host and an IPv6 Host with port', async () => {
    for (const request of [
      'GET http://example.com/x HTTP/1.1\r\nHost: example.com\r\n\r\n',
      'OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n',
      'GET / HTTP/1.1\r\nHost:\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n',
    ]) {
      const result = await feedEverySplit(request)
      assert.equal(result.error, undefined, request)
      assert.equal(result.requests.length, 1, request)
    }
  })

  test('accepts a backslash in the query, %5C in the path, and the other bytes browsers send raw (WHATWG URL)', async () => {
    for (const url of ['/a?b=c\\d', '/?\\', '/a%5Cb', '/a%5c..%5cb?q', '/a|b[c]?d={e}^`|[]\\', "/!$&'()*+,;=:@-._~/%20?/?"]) {
      const result = await feedEverySplit(`GET ${url} HTTP/1.1\r\nHost: a\r\n\r\n`)
      assert.equal(result.error, undefined, url)
      assert.equal(result.requests[0]!.url, url)
    }
    const absolute = await feedEverySplit('GET http://example.com?q=\\ HTTP/1.1\r\nHost: a\r\n\r\n')
    assert.equal(absolute.error, undefined)
    assert.equal(absolute.requests[0]!.url, '/?q=\\')
  })

  test('accepts one Content-Type whose quoted parameters hold commas, beside other 12-byte names', async () => {
    for (const type of ['multipart/form-data; boundary="a,b"', 'text/plain; a="x\\",y"; b=c', 'text/plain; a="unclosed,']) {
      const result = await feedEverySplit(`POST / HTTP/1.1\r\nHost: a\r\nX-Request-Id: 1\r\nContent-Type: ${type}\r\nAccept-Patch: x\r\nContent-Length: 2\r\n\r\nhi`)
      assert.equal(result.error, undefined, type)
      assert.equal(result.requests[0]!.headers[2]![1], type)
    }
    // One Content-Type per request: the next request on the connection has its own.
    const two = await feedEverySplit('POST / HTTP/1.1\r\nHost: a\r\nContent-Type: a/b\r\nContent-Length: 0\r\n\r\nPOST / HTTP/1.1\r\nHost: a\r\nContent-Type: c/d\r\nContent-Length: 0\r\n\r\n')
    assert.equal(two.error, undefined)
    assert.equal(two.requests.length, 2)
  })

  test('accepts TRACE without content: no framing field, or Content-Length: 0', async () => {
    for (const fields of ['', 'Content-Length: 0\r\n', 'Content-Length: 0, 0\r\n']) {
      const result = await feedEverySplit(`TRACE / HTTP/1.1\r\nHost: a\r\n${fields}\r\nGET /next HTTP/1.1\r\nHost: a\r\n\r\n`)
      assert.equal(result.error, undefined, fields)
      assert.deepEqual(result.requests.map((request) => [request.method, request.url]), [['TRACE', '/'], ['GET', '/next']])
    }
  })

  test('records Host values of every common shape the same whole (its fast path) as split (the careful one)', async () => {
    for (const [line, value] of [
      ['Host: 127.0.0.1:5001', '127.0.0.1:5001'],
      ['HOST: a', 'a'],
      ['hOsT:\t a.b-c_d~e \t', 'a.b-c_d~e'],
      ['Host: a:', 'a:'],
      ["Host: %41!$&'()*+,;=:0", "%41!$&'()*+,;=:0"],
      ['Host:  ', ''],
    ] as const) {
      const result = await feedEverySplit(`GET / HTTP/1.1\r\nX-A: 1\r\n${line}\r\nX-B: 2\r\n\r\n`)
      assert.equal(result.error, undefined, line)
      assert.deepEqual(result.requests[0]!.headers.map(([, v]) => v), ['1', value, '2'], line)
    }
  })

  test('reads a Content-Length body, then the next pipelined request', async () => {
    const result = await feedEverySplit('POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhelloGET /b HTTP/1.1\r\nHost: a\r\n\r\n')
    assert.deepEqual(result.requests.map((request) => [request.url, request.body]), [['/a', 'hello'], ['/b', '']])
  })

  test('accepts identical repeated Content-Length values (RFC 9110 §8.6)', async () => {
    const result = await feedEverySplit('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\nContent-Length: 3\r\n\r\nabc')
    assert.equal(result.requests[0]!.body, 'abc')
  })

  test('decodes chunked bodies with extensions and trailers', async () => {
    const result = await feedEverySplit(
      'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n' +
        '5;name=value;q="a \\"b\\""\r\nhello\r\n6 ; x\r\n world\r\nA\r\n0123456789\r\n0\r\nX-Trailer: yes\r\n\r\n' +
        'GET /next HTTP/1.1\r\nHost: a\r\n\r\n',
    )
    assert.equal(result.error, undefined)
    assert.deepEqual(result.requests.map((request) => [request.url, request.body]), [['/', 'hello world0123456789'], ['/next', '']])
  })

  test('accepts upper- and mixed-case chunked and hex digits', async () => {
    const result = await feedEverySplit('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ChUnKeD\r\n\r\na\r\n0123456789\r\nB\r\n0123456789a\r\n0\r\n\r\n')
    assert.equal(result.requests[0]!.body, '01234567890123456789a')
  })

  test('accepts what the llhttp corpus accepts in strict mode: padded lengths, any-case names, quoted extensions, 000 last chunks', async () => {
    const bodies = async (text: string) => {
      const result = await feedEverySplit(text)
      assert.equal(result.error, undefined, `${JSON.stringify(text)}: ${JSON.stringify(result.error)}`)
      return result.requests.map((request) => request.body)
    }
    assert.deepEqual(await bodies('PUT /url HTTP/1.1\r\nHost: a\r\nContent-Length: 003\r\nOhai: world\r\n\r\nabc'), ['abc'])
    assert.deepEqual(await bodies('GET /funky HTTP/1.0\r\nconTENT-Length: 5\r\n\r\nHELLO'), ['HELLO'])
    assert.deepEqual(await bodies('POST / HTTP/1.1\r\nHost: a\r\nContent-Length:  3 \r\n\r\nabc'), ['abc'])
    assert.deepEqual(await bodies('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;x="I \\"love\\"; \\\\ext\\\\";y="z";w;v=u\r\nhello\r\n6;a;b\r\n world\r\n000\r\n\r\n'), ['hello world'])
    assert.deepEqual(await bodies('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1e\r\nall your base are belong to us\r\n0\r\nVary: *\r\nContent-Type: text/plain\r\n\r\n'), ['all your base are belong to us'])
    // Browser- and tool-shaped requests: a sub-delim in Host, tabs before values, obs-text, many fields.
    assert.deepEqual(
      await bodies('GET /favicon.ico HTTP/1.1\r\nHost: 0.0.0.0=5000\r\nUser-Agent: Mozilla/5.0 (X11; Linux) Firefox/3.0\r\nAccept: text/html,*/*;q=0.8\r\nAccept-Encoding: gzip,deflate\r\nKeep-Alive: 300\r\nConnection: keep-alive\r\n\r\n'),
      [''],
    )
    assert.deepEqual(await bodies('OPTIONS /url HTTP/1.1\r\nHost: a\r\nHeader2:\t Value2\r\nTest: D\xfcsseldorf\r\nX: \xffV\r\nD:++++++++++\r\n\r\n'), [''])
  })

  test('waits for more bytes on an unfinished request', async () => {
    const result = feed([Buffer.from('GET / HTTP/1.1\r\nHost: a\r\n')])
    assert.equal(result.requests.length, 0)
    assert.equal(result.incomplete, true)
  })

  for (const { name, request, status } of rejections) {
    test(`rejects ${name} with ${status}`, async () => {
      const result = await feedEverySplit(request)
      assert.equal(result.error?.status, status, `got ${JSON.stringify(result)}`)
    })
  }
})

describe('RequestParser limits, at N and N+1', () => {
  const small = resolveLimits({ requestLineBytesMax: 64, headerBytesMax: 256, headerCountMax: 4, bodyBytesMax: 10 })

  test('rejects a request line over requestLineBytesMax with 414', async () => {
    // "GET " + target + " HTTP/1.1" is 13 bytes besides the target.
    const fits = `GET /${'a'.repeat(64 - 14)} HTTP/1.1`
    assert.equal(fits.length, 64)
    assert.equal((await feedEverySplit(`${fits}\r\nHost: a\r\n\r\n`, small)).error, undefined)
    const over = `GET /${'a'.repeat(64 - 13)} HTTP/1.1`
    assert.equal((await feedEverySplit(`${over}\r\nHost: a\r\n\r\n`, small)).error?.status, 414)
  })

  test('rejects an unfinished request line as soon as it passes the limit', () => {
    const result = feed([Buffer.from(`GET /${'a'.repeat(70)}`)], small)
    assert.equal(result.error?.status, 414)
  })

  test('rejects header fields over headerBytesMax with 431', async () => {
    // Header section = field lines with their CRLFs; "Host: a\r\n" is 9 bytes.
    const pad = (total: number) => `X: ${'b'.repeat(total - 9 - 5)}\r\n`
    assert.equal(pad(256).length + 9, 256)
    assert.equal((await feedEverySplit(`GET / HTTP/1.1\r\nHost: a\r\n${pad(256)}\r\n`, small)).error, undefined)
    assert.equal((await feedEverySplit(`GET / HTTP/1.1\r\nHost: a\r\n${pad(257)}\r\n`, small)).error?.status, 431)
  })

  test('rejects an unfinished header section as soon as it passes the limit', () => {
    const result = feed([Buffer.from(`GET / HTTP/1.1\r\nX: ${'b'.repeat(300)}`)], small)
    assert.equal(result.error?.status, 431)
  })

  test('rejects more than headerCountMax fields with 431', async () => {
    const fields = (count: number) => 'Host: a\r\n' + 'X: y\r\n'.repeat(count - 1)
    assert.equal((await feedEverySplit(`GET / HTTP/1.1\r\n${fields(4)}\r\n`, small)).error, undefined)
    assert.equal((await feedEverySplit(`GET / HTTP/1.1\r\n${fields(5)}\r\n`, small)).error?.status, 431)
  })

  test('rejects a chunked body over bodyBytesMax with 413', async () => {
    const chunked = (size: number) => `POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\naaaaa\r\n${size.toString(16)}\r\n${'b'.repeat(size)}\r\n0\r\n\r\n`
    assert.equal((await feedEverySplit(chunked(5))).error, undefined)
    assert.equal(feed([Buffer.from(chunked(5))], small).error, undefined)
    assert.equal(feed([Buffer.from(chunked(6))], small).error?.status, 413)
  })

  test('rejects too many trailer fields with 431', () => {
    const trailers = (count: number) => `POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n${'T: v\r\n'.repeat(count)}\r\n`
    assert.equal(feed([Buffer.from(trailers(4))], small).error, undefined)
    assert.equal(feed([Buffer.from(trailers(5))], small).error?.status, 431)
  })

  test('rejects a Content-Length with more digits than any limit as too large', () => {
    const result = feed([Buffer.from('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n')])
    assert.equal(result.error?.status, 413)
  })
})
