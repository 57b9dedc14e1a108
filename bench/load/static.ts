/*
 * `npm run bench -- static`: a 50-byte index.html, a 100 KiB file (held in memory by wirespeed) and a 4 MiB
 * file (above fileBytesMax: sendfile(2) on the epoll backend, chunks read by Node on node:net), served by
 * `wirespeed serve` on each backend and by nginx (one worker, sendfile and open_file_cache on), 60
 * keep-alive connections. The files are written fresh under bench/.work/static/ so that every server reads
 * the same bytes.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { compare, nginx, root, type Contender } from '../lib/compare.ts'
import type { SuiteOptions } from './http.ts'
import { nginxConfig } from './nginx.ts'

const site = `${root}bench/.work/static/`
const small = Buffer.from('<!doctype html><title>hi</title><p>Hello, World!!\n')
const large = Buffer.alloc(100 * 1024, 'wirespeed static benchmark payload. ')
const huge = Buffer.alloc(4 * 1024 * 1024, 'a file above fileBytesMax, streamed. ')
const wirespeedServe = (port: number) => [process.execPath, `${root}bin/wirespeed.js`, 'serve', site, '--port', String(port)]

const contenders: Contender[] = [
  { name: 'wirespeed, epoll', env: { WIRESPEED_BACKEND: 'epoll' }, argv: wirespeedServe },
  { name: 'wirespeed, node', env: { WIRESPEED_BACKEND: 'node' }, argv: wirespeedServe },
  {
    name: 'nginx',
    missing: nginx ? undefined : 'nginx not found (bash bench/setup.sh installs it where apt-get is available)',
    argv: (port) =>
      nginxConfig(
        port,
        `root ${site}; location / { etag on; }`,
        'sendfile on; tcp_nopush on; open_file_cache max=1000 inactive=60s; open_file_cache_valid 60s; include /etc/nginx/mime.types;',
      ),
  },
]

export function runStaticBench(options: SuiteOptions): Promise<string> {
  mkdirSync(site, { recursive: true })
  writeFileSync(`${site}index.html`, small)
  writeFileSync(`${site}large.bin`, large)
  writeFileSync(`${site}huge.bin`, huge)
  return compare({
    ...options,
    title: 'Static files: a 50-byte index.html, a 100 KiB file and a 4 MiB file',
    command: 'npm run bench -- static',
    contenders,
    loads: [
      { name: '50 B index.html', path: '/', pipeline: 1, expect: small },
      { name: '100 KiB file', path: '/large.bin', pipeline: 1, expect: large },
      { name: '4 MiB file (streamed)', path: '/huge.bin', pipeline: 1, expect: huge },
    ],
    reference: 'nginx',
    notes: ['Load: 60 keep-alive connections', 'nginx: one worker, sendfile on, open_file_cache on (the same files, read by all)', 'wirespeed keeps files up to fileBytesMax (1 MiB) in memory; the 4 MiB file leaves by sendfile(2) on epoll, in chunks read by Node on node'],
  })
}
