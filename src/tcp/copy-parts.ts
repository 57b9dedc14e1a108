/*
 * Copying a batch of writes into one buffer: what a transport does with small parts before one send.
 */

/**
 * Copies `parts` into `target` from offset 0, strings as Latin-1 (one byte per character). `target` must
 * hold them all (a batch's byte count: each string's length plus each part's length).
 * @returns the bytes written
 */
export function copyParts(target: Buffer, parts: readonly (string | Uint8Array)[]): number {
  let used = 0
  for (const part of parts) {
    if (typeof part === 'string') used += target.write(part, used, 'latin1')
    else {
      target.set(part, used)
      used += part.length
    }
  }
  return used
}
