/*
 * Content-Type by file extension: the types a website serves. Unknown extensions are
 * application/octet-stream, which browsers download rather than guess at (with nosniff set).
 */
const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8', htm: 'text/html; charset=utf-8', css: 'text/css; charset=utf-8',
  js: 'text/javascript; charset=utf-8', mjs: 'text/javascript; charset=utf-8', json: 'application/json; charset=utf-8',
  map: 'application/json; charset=utf-8', txt: 'text/plain; charset=utf-8', md: 'text/markdown; charset=utf-8',
  csv: 'text/csv; charset=utf-8', xml: 'application/xml; charset=utf-8', svg: 'image/svg+xml; charset=utf-8',
  png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', gif: 'image/gif', webp: 'image/webp', avif: 'image/avif',
  ico: 'image/x-icon', bmp: 'image/bmp', woff: 'font/woff', woff2: 'font/woff2', ttf: 'font/ttf', otf: 'font/otf',
  mp4: 'video/mp4', webm: 'video/webm', mp3: 'audio/mpeg', ogg: 'audio/ogg', wav: 'audio/wav', wasm: 'application/wasm',
  pdf: 'application/pdf', zip: 'application/zip', gz: 'application/gzip', tar: 'application/x-tar',
  webmanifest: 'application/manifest+json; charset=utf-8',
}

/** The Content-Type for a file name. */
export function contentTypeOf(fileName: string): string {
  const dot = fileName.lastIndexOf('.')
  const slash = fileName.lastIndexOf('/')
  if (dot <= slash + 1) return 'application/octet-stream'
  return TYPES[fileName.slice(dot + 1).toLowerCase()] ?? 'application/octet-stream'
}
