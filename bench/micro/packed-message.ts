/*
 * The ping-pong micro-benchmarks' 11-byte message moved as C's reference moves it: packed into three words of
 * shared memory and out again (./pingpong-steps.ts, ./pingpong-process.ts).
 */

/** Packs bytes 0-10 of `bytes` into words `at` to `at + 2`, little-endian. */
export function pack(bytes: Uint8Array, words: Int32Array, at: number): void {
  words[at] = bytes[0]! | (bytes[1]! << 8) | (bytes[2]! << 16) | (bytes[3]! << 24)
  words[at + 1] = bytes[4]! | (bytes[5]! << 8) | (bytes[6]! << 16) | (bytes[7]! << 24)
  words[at + 2] = bytes[8]! | (bytes[9]! << 8) | (bytes[10]! << 16)
}

/** Unpacks words `at` to `at + 2` into bytes 0-10 of `bytes`. */
export function unpack(words: Int32Array, at: number, bytes: Uint8Array): void {
  let word = words[at]!
  bytes[0] = word
  bytes[1] = word >>> 8
  bytes[2] = word >>> 16
  bytes[3] = word >>> 24
  word = words[at + 1]!
  bytes[4] = word
  bytes[5] = word >>> 8
  bytes[6] = word >>> 16
  bytes[7] = word >>> 24
  word = words[at + 2]!
  bytes[8] = word
  bytes[9] = word >>> 8
  bytes[10] = word >>> 16
}
