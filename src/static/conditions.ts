/*
 * The request headers that decide which reply a file gets: Accept-Encoding for a precompressed sibling,
 * If-None-Match and If-Modified-Since for 304 (RFC 9110 §13.2.2), If-Range for whether a range applies.
 */

/** Accept-Encoding lists `coding` with a q-value above 0 (RFC 9110 §12.5.3). */
export function accepts(header: string, coding: string): boolean {
  for (const part of header.split(',')) {
    const [name, ...parameters] = part.split(';')
    if (name!.trim().toLowerCase() !== coding) continue
    const q = parameters.map((p) => p.trim()).find((p) => p.toLowerCase().startsWith('q='))
    return q === undefined || Number(q.slice(2)) > 0
  }
  return false
}

/** If-None-Match: "*" or any listed tag, compared weakly (RFC 9110 §13.1.2). */
export function etagMatches(header: string, etag: string): boolean {
  if (header.trim() === '*') return true
  for (const part of header.split(',')) {
    const tag = part.trim()
    if ((tag.startsWith('W/') ? tag.slice(2) : tag) === etag) return true
  }
  return false
}

export function notModifiedSince(header: string | undefined, mtimeMs: number): boolean {
  if (header === undefined) return false
  const since = Date.parse(header)
  return !Number.isNaN(since) && Math.floor(mtimeMs / 1000) * 1000 <= since
}

/** If-Range: a range applies only when the tag (strong) or the date still matches (RFC 9110 §13.1.5). */
export function ifRangeAllows(header: string | undefined, etag: string, lastModified: string): boolean {
  if (header === undefined) return true
  const value = header.trim()
  return value.startsWith('"') ? value === etag : value === lastModified
}
