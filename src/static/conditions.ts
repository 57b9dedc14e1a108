/*
 * The request headers that decide which reply a file gets: Accept-Encoding for a compressed variant
 * (RFC 9110 §12.5.3), If-None-Match and If-Modified-Since for 304 (RFC 9110 §13.2.2), If-Range for whether
 * a range applies.
 *
 * Accept-Encoding is read into one weight per coding a file can have, and the weights of the last
 * `ACCEPT_ENCODINGS_MAX` distinct header values are kept: browsers send the same few values on every
 * request, so a cached file's reply costs one Map lookup here, not a parse. (A client sending a new value
 * each time only makes the table start over: it never grows past its bound.)
 */

/** The q-value (0 to 1) a request gives each coding a file can have; 0 is "not acceptable". */
export interface EncodingWeights {
  readonly br: number
  readonly zstd: number
  readonly gzip: number
  /** Identity when the header does not name it (nor "*"): acceptable, below every coding it names. */
  readonly identity: number
}

/** Below the smallest q-value a header can give (0.001): identity, acceptable when nothing says otherwise. */
const IDENTITY_BY_DEFAULT = 0.0001
const ACCEPT_ENCODINGS_MAX = 64
const weightsByHeader = new Map<string, EncodingWeights>()
/** qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ) (RFC 9110 §12.4.2) */
const QVALUE = /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/

/**
 * The weights an Accept-Encoding value gives br, zstd, gzip (x-gzip too: RFC 9110 §8.4.1.3) and identity.
 * A coding the value does not name gets the weight of "*", or 0; identity too, but it stays acceptable
 * (below every named coding) when "*" is absent. So identity is refused only by
 * "identity;q=0", or "*;q=0" with no entry for identity (§12.5.3), and an empty value accepts
 * identity alone. An entry with a malformed q-value is ignored.
 * @example
 * acceptedEncodings('gzip, br;q=0.5, *;q=0') // { br: 0.5, zstd: 0, gzip: 1, identity: 0 }
 */
export function acceptedEncodings(header: string): EncodingWeights {
  let weights = weightsByHeader.get(header)
  if (weights !== undefined) return weights
  let br = -1
  let zstd = -1
  let gzip = -1
  let identity = -1
  let any = -1
  for (const part of header.split(',')) {
    const semicolon = part.indexOf(';')
    const name = (semicolon === -1 ? part : part.slice(0, semicolon)).trim().toLowerCase()
    if (name === '') continue
    let q = 1
    if (semicolon !== -1) {
      const parameter = part.slice(semicolon + 1).trim()
      const equals = parameter.indexOf('=')
      if (equals === -1 || parameter.slice(0, equals).trim().toLowerCase() !== 'q') continue
      const value = parameter.slice(equals + 1).trim()
      if (!QVALUE.test(value)) continue
      q = Number(value)
    }
    if (name === 'br') br = Math.max(br, q)
    else if (name === 'zstd') zstd = Math.max(zstd, q)
    else if (name === 'gzip' || name === 'x-gzip') gzip = Math.max(gzip, q)
    else if (name === 'identity') identity = Math.max(identity, q)
    else if (name === '*') any = Math.max(any, q)
  }
  const others = any === -1 ? 0 : any
  weights = {
    br: br === -1 ? others : br,
    zstd: zstd === -1 ? others : zstd,
    gzip: gzip === -1 ? others : gzip,
    identity: identity !== -1 ? identity : any !== -1 ? any : IDENTITY_BY_DEFAULT,
  }
  if (weightsByHeader.size >= ACCEPT_ENCODINGS_MAX) weightsByHeader.clear()
  weightsByHeader.set(header, weights)
  return weights
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
