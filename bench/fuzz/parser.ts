/*
 * A seeded, bounded mutation fuzzer for the request parser and body decoder. It starts from valid requests
 * (a small built-in corpus), applies random edits (flip, insert or delete a byte, splice in CR, LF, NUL,
 * SP, ":" or a second copy of a line, cut a length), feeds each result at a random split, and checks that
 * the only thing ever thrown is an HttpError and that each input finishes in bounded time.
 *
 *   node bench/fuzz/parser.ts [--iterations 1000000] [--seed 1] [--seconds 60]
 *
 * The tests run it briefly (fuzzParser() with a fixed seed); a longer run is one command away.
 */
import { parseArgs } from 'node:util'
import { HttpError } from '../../src/errors.ts'
import { feed } from '../../test/http/parse-harness.ts'

const CORPUS = [
  'GET / HTTP/1.1\r\nHost: example.com\r\n\r\n',
  'GET /a/b?c=d&e=f HTTP/1.1\r\nHost: example.com:8080\r\nAccept: text/html\r\nUser-Agent: fuzz\r\n\r\n',
  'POST /form HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\nContent-Type: text/plain\r\n\r\nhello world',
  'PUT /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;ext="q"\r\nhello\r\n0\r\nTrailer: t\r\n\r\n',
  'GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n',
  'OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n',
  'GET http://example.com/abs HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n',
  'POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabcGET /next HTTP/1.1\r\nHost: a\r\n\r\n',
]
const SPLICES = ['\r', '\n', '\0', ' ', ':', '\t', '\r\n', 'Content-Length: 5\r\n', 'Transfer-Encoding: chunked\r\n', 'Host: b\r\n', '\xff', '0\r\n\r\n', 'ffffffffff\r\n']

/** A small, fast, seeded generator (mulberry32). */
function random(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function mutate(input: Buffer, next: () => number): Buffer {
  let bytes = input
  const edits = 1 + Math.floor(next() * 4)
  for (let e = 0; e < edits; e++) {
    const at = Math.floor(next() * (bytes.length + 1))
    switch (Math.floor(next() * 5)) {
      case 0: // flip a byte
        if (bytes.length > 0) {
          bytes = Buffer.from(bytes)
          bytes[at % bytes.length] = Math.floor(next() * 256)
        }
        break
      case 1: // delete a byte
        bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + 1)])
        break
      case 2: // splice in something that matters to HTTP
        bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from(SPLICES[Math.floor(next() * SPLICES.length)]!, 'latin1'), bytes.subarray(at)])
        break
      case 3: // repeat a stretch
        bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(Math.floor(next() * at), at), bytes.subarray(at)])
        break
      default: // cut the end
        bytes = bytes.subarray(0, at)
    }
  }
  return bytes
}

export interface FuzzResult {
  iterations: number
  refused: number
  accepted: number
  incomplete: number
  slowestMs: number
}

/** Runs the fuzzer; throws (with the input) on anything but an HttpError, or an input that takes over a second. */
export function fuzzParser(options: { iterations: number; seed: number; seconds?: number }): FuzzResult {
  const next = random(options.seed)
  const corpus = CORPUS.map((text) => Buffer.from(text, 'latin1'))
  const deadline = performance.now() + (options.seconds ?? Infinity) * 1000
  const result: FuzzResult = { iterations: 0, refused: 0, accepted: 0, incomplete: 0, slowestMs: 0 }
  for (let i = 0; i < options.iterations && performance.now() < deadline; i++) {
    const input = mutate(corpus[Math.floor(next() * corpus.length)]!, next)
    const cut = Math.floor(next() * (input.length + 1))
    const started = performance.now()
    try {
      const outcome = feed([input.subarray(0, cut), input.subarray(cut)].filter((piece) => piece.length > 0))
      if (outcome.error) result.refused++
      else if (outcome.incomplete) result.incomplete++
      else result.accepted++
    } catch (error) {
      if (!(error instanceof HttpError)) {
        throw new Error(`Input ${JSON.stringify(input.toString('latin1'))} (cut at ${cut}) threw ${error}`, { cause: error })
      }
      result.refused++
    }
    const elapsed = performance.now() - started
    if (elapsed > result.slowestMs) result.slowestMs = elapsed
    if (elapsed > 1000) throw new Error(`Input ${JSON.stringify(input.toString('latin1'))} took ${elapsed.toFixed(0)} ms`)
    result.iterations++
  }
  return result
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { iterations: { type: 'string', default: '1000000' }, seed: { type: 'string', default: '1' }, seconds: { type: 'string', default: '60' } } })
  const result = fuzzParser({ iterations: Number(values.iterations), seed: Number(values.seed), seconds: Number(values.seconds) })
  console.log(JSON.stringify(result))
}
