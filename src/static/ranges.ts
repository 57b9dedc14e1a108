/*
 * Byte ranges (RFC 9110 §14): one range is served as 206 (or 416 when it lies past the end); several, or
 * bad syntax, are ignored and the whole file is sent, as §14.2 allows.
 */

/**
 * One byte range of a representation of `size` bytes: [start, end] inclusive, 'unsatisfiable', or null
 * to ignore the header (bad syntax or several ranges: the whole file is sent, as RFC 9110 §14.2 allows).
 */
export function parseRange(header: string, size: number): [number, number] | 'unsatisfiable' | null {
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim())
  if (match === null) return null
  const [, first, last] = match
  if (first === '' && last === '') return null
  if (first === '') {
    const suffix = Number(last)
    if (suffix === 0) return 'unsatisfiable'
    return size === 0 ? 'unsatisfiable' : [Math.max(0, size - suffix), size - 1]
  }
  const start = Number(first)
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1)
  if (last !== '' && Number(last) < start) return null
  if (start >= size) return 'unsatisfiable'
  return [start, end]
}
