/*
 * Request paths made safe for the file system: decoded once, split into segments, and refused when they
 * could name something outside the root (encoded slashes or backslashes, NUL, "." and ".." segments) or a
 * hidden file. Refusals are PathRefusedError with the status to answer (400, or 404 for a dotfile).
 */
import { PathRefusedError } from '../errors.ts'

/**
 * Decodes a request path once and splits it into safe segments.
 * @throws PathRefusedError 400 for encoded slashes or backslashes, NUL, bad escapes, "." and ".."; 404 for a
 *   dotfile when they are not served
 */
export function safeSegments(path: string, dotfiles: boolean): string[] {
  if (!path.startsWith('/')) throw new PathRefusedError(400, 'the path must start with /')
  if (/%(2f|5c|00)/i.test(path)) throw new PathRefusedError(400, 'encoded slashes, backslashes and NUL are refused')
  let decoded: string
  try {
    decoded = decodeURIComponent(path)
  } catch {
    throw new PathRefusedError(400, 'malformed percent-encoding')
  }
  if (decoded.includes('\\') || decoded.includes('\0')) throw new PathRefusedError(400, 'backslashes and NUL are refused')
  const segments: string[] = []
  for (const segment of decoded.split('/')) {
    if (segment === '') continue
    if (segment === '.' || segment === '..') throw new PathRefusedError(400, 'dot segments are refused')
    if (segment.startsWith('.') && !dotfiles) throw new PathRefusedError(404, path)
    segments.push(segment)
  }
  return segments
}
