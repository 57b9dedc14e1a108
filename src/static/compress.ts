/*
 * Compresses a cached file's body once, with each coding a browser may ask for: brotli, zstd (where
 * node:zlib has it: Node 22.15 and later) and gzip. The work runs on libuv's thread pool (zlib's async API),
 * never on the event loop, and the result is kept with the file for as long as the file is cached, so the
 * levels are the highest that pay: a 380 KiB JavaScript bundle takes ~0.6 s of one pool thread at brotli
 * 11 (74 KiB; quality 9 gives 83 KiB in 0.09 s), ~0.09 s at zstd 19 (79 KiB) and ~0.01 s at gzip 9
 * (92 KiB), measured once on the development machine. The callers queue one file at a time, so the pool's
 * other threads stay free for the file reads of cache misses.
 *
 * A file too large to hold (above fileBytesMax) is compressed as it streams, per request, by
 * `compressStream()`: zlib's stream on the thread pool at the levels servers use for on-the-fly work,
 * fed from the file with backpressure both ways. Each stream holds its coder's state, so the windows are
 * kept small (measured resident memory per stream with a 1 MiB write: brotli 5 with a 256 KiB window
 * ~1.0 MiB, where brotli 4 with the default 4 MiB window took ~5.1 MiB; zstd 3 with a 512 KiB window ~1.5 MiB;
 * gzip 6 ~0.3 MiB), and the callers bound how many run at once (compressStreamsMax).
 */
import * as zlib from 'node:zlib'
import { brotliCompress, constants, createBrotliCompress, createGzip, gzip, type InputType } from 'node:zlib'
import type { Transform } from 'node:stream'

/** The codings made in memory, in the order a tie in Accept-Encoding prefers them (smallest first). */
export const CODINGS = ['br', 'zstd', 'gzip'] as const
export type Coding = (typeof CODINGS)[number]

/**
 * zstd is in node:zlib from Node 22.15, but not in every runtime that runs this code: read from the module
 * object, so its absence is `undefined` here rather than a failed import.
 */
const zstdCompress = (zlib as Partial<typeof zlib>).zstdCompress
export const zstdAvailable = typeof zstdCompress === 'function'

const BROTLI_QUALITY = 11
const ZSTD_LEVEL = 19
const GZIP_LEVEL = 9

/** A zlib stream that compresses with `coding` at the on-the-fly level. */
export function compressStream(coding: Coding, sizeHint: number): Transform {
  if (coding === 'br') return createBrotliCompress({ params: { [constants.BROTLI_PARAM_QUALITY]: 5, [constants.BROTLI_PARAM_LGWIN]: 18, [constants.BROTLI_PARAM_SIZE_HINT]: sizeHint } })
  if (coding === 'zstd') return zlib.createZstdCompress({ params: { [constants.ZSTD_c_compressionLevel]: 3, [constants.ZSTD_c_windowLog]: 19, [constants.ZSTD_c_checksumFlag]: 0 } })
  return createGzip({ level: 6 })
}

/** `bytes` compressed with `coding`, off the event loop. */
export function compressBody(coding: Coding, bytes: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const done = (error: Error | null, result: Buffer) => (error !== null ? reject(error) : resolve(result))
    const input: InputType = bytes
    if (coding === 'br') {
      brotliCompress(input, { params: { [constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY, [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length } }, done)
    } else if (coding === 'zstd') {
      zstdCompress!(input, { params: { [constants.ZSTD_c_compressionLevel]: ZSTD_LEVEL, [constants.ZSTD_c_checksumFlag]: 0 } }, done)
    } else {
      gzip(input, { level: GZIP_LEVEL }, done)
    }
  })
}
