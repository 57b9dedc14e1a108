/*
 * `wirespeed serve [dir] [--port 5001] [--host 127.0.0.1] [--spa] [--clean-urls] [--no-compress]`: serves
 * a folder (the bundled public/ by default).
 * On a terminal, a one-line live status is redrawn every second (requests/s, open connections, bytes/s), as
 * the old AppServer did; off a terminal it prints only the URL. SIGINT/SIGTERM close it gracefully.
 * Usage errors (a missing folder, a bad port, a port in use) print one line and exit with 2. With
 * --workers, every worker thread serves the folder and the status line sums them all.
 */
import { existsSync, statSync } from 'node:fs'
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { serve } from '../serve/serve.ts'
import { requireNode } from '../runtime.ts'
import { REUSE_PORT_NODE } from '../tcp/listen.ts'
import { integerFlag, parseFlags, UsageError, withPortFlag } from './args.ts'
import { formatBytes, formatCount } from './format.ts'
import { untilSignal } from './until-signal.ts'

const HELP = `Usage: wirespeed serve [dir] [--port 5001] [--host 127.0.0.1] [--workers N|auto] [--spa] [--clean-urls] [--no-compress]

Serves a folder over HTTP (default: the bundled public/ page).
  --port N          port to listen on (default 5001; 0 picks a free one)
  --host H          address to listen on (default 127.0.0.1; 0.0.0.0 for every interface)
  --workers N|auto  event loops, one per worker thread, sharing the port (default 1; auto: one per core)
  --spa             a single-page app: a page link with no file (/users/42) gets index.html
  --clean-urls      /about serves about.html, and /about.html redirects to /about
  --no-compress     send files as they are (default: compressible files are compressed once, in memory,
                    with brotli, zstd and gzip, and served as Accept-Encoding prefers)
`

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(args, { port: { type: 'string' }, host: { type: 'string' }, workers: { type: 'string' }, help: { type: 'boolean' }, spa: { type: 'boolean' }, 'clean-urls': { type: 'boolean' }, 'no-compress': { type: 'boolean' } })
  if (values.help) {
    process.stdout.write(HELP)
    return 0
  }
  if (positionals.length > 1) throw new UsageError(`Expected one folder, got ${positionals.length}: ${positionals.join(' ')}`)
  const root = positionals[0] === undefined ? fileURLToPath(new URL('../../public/', import.meta.url)) : resolve(positionals[0])
  if (!existsSync(root)) throw new UsageError(`Folder ${root} does not exist: pass a folder to serve`)
  if (!statSync(root).isDirectory()) throw new UsageError(`${root} is a file: pass a folder to serve (its files are served, index.html at /)`)
  const port = integerFlag('port', values.port, 5001, 0, 65535)
  const workers = values.workers === undefined || values.workers === 'auto' ? values.workers : integerFlag('workers', values.workers, 1, 1, 1024)
  if (workers !== undefined) requireNode('--workers', REUSE_PORT_NODE)
  const host = values.host ?? '127.0.0.1'
  const server = await serve({ host, port, static: { root, spa: values.spa ?? false, cleanUrls: values['clean-urls'] ?? false, compress: !values['no-compress'] }, workers }).catch(withPortFlag(host, port))
  // The signals are caught before the line is printed: whoever waits for the line may stop us at once.
  const stopped = untilSignal()
  process.stdout.write(`wirespeed serving ${root} at ${server.url}/ (${server.backend} backend: ${server.backendReason})\n`)

  const live = process.stdout.isTTY ? startStatusLine(server) : undefined
  await stopped
  if (live) clearInterval(live)
  if (process.stdout.isTTY) process.stdout.write('\n')
  await server.close()
  return 0
}

function startStatusLine(server: { stats(): { requests: number; bytesOut: number; connections: number } }): NodeJS.Timeout {
  let last = server.stats()
  let lastAt = performance.now()
  return setInterval(() => {
    const now = server.stats()
    const at = performance.now()
    const seconds = (at - lastAt) / 1000
    const line = `${formatCount((now.requests - last.requests) / seconds)} req/s  ${formatCount(now.connections)} connections  ${formatBytes((now.bytesOut - last.bytesOut) / seconds)}/s  ${formatCount(now.requests)} requests in all`
    process.stdout.write(`\r\x1b[2K${line}`)
    last = now
    lastAt = at
  }, 1000)
}
