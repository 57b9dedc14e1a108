/*
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum a PROXY v2 header may carry in its
 * PP2_TYPE_CRC32C TLV. A 256-entry table, one byte per step: a header is at most `proxyHeaderBytesMax`
 * bytes and is read once per connection, so no faster variant is worth its code.
 */
const table = new Uint32Array(256)
for (let n = 0; n < 256; n++) {
  let c = n
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1
  table[n] = c >>> 0
}

/**
 * The CRC-32C of `bytes`.
 * @example
 * crc32c(Buffer.from('123456789')) // 0xe3069283
 */
export function crc32c(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let crc = 0xffffffff
  for (let i = start; i < end; i++) crc = table[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8)
  return (crc ^ 0xffffffff) >>> 0
}
