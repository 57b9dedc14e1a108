/*
 * `npm run bench -- apps`: the same small app (GET / text, GET /users/:id JSON, POST /echo parsing a JSON
 * body) as a Hono app on wirespeed's fetch mode, on @hono/node-server and on Bun.serve; in wirespeed's native
 * routes; and in one native handler that routes by hand. Then the router micro-benchmark on the GitHub
 * REST API's table (bench/micro/router.ts). Reference: the Hono app on @hono/node-server.
 */
import { bun, compare, root, type Contender } from '../lib/compare.ts'
import { runRouterBench } from '../micro/router.ts'
import { bareEpollResponder, cFloor, type SuiteOptions } from './http.ts'

const apps = `${root}bench/load/apps/`
const contenders: Contender[] = [
  { name: 'Hono on wirespeed (fetch)', argv: () => [process.execPath, `${apps}hono-wirespeed.ts`] },
  { name: 'Hono on @hono/node-server', argv: () => [process.execPath, `${apps}hono-node.ts`] },
  {
    name: 'Hono on Bun.serve',
    missing: bun ? undefined : 'bun not found (bash bench/setup.sh installs it from the npm registry)',
    argv: () => [bun!, `${apps}hono-bun.js`],
  },
  { name: 'wirespeed routes', argv: () => [process.execPath, `${apps}native-routes.ts`] },
  { name: 'wirespeed handler', argv: () => [process.execPath, `${apps}native-handler.ts`] },
  // What no server can go below on this machine (canned replies, so only on the text load).
  { ...cFloor, loads: ['GET / text'] },
  { ...bareEpollResponder, loads: ['GET / text'] },
]

const ECHO = '{"name":"ann","tags":["a","b"],"n":42}'

export async function runAppsBench(options: SuiteOptions): Promise<string> {
  const table = await compare({
    ...options,
    title: 'Apps benchmark: one app, five ways to serve it, and the floor under them',
    command: 'npm run bench -- apps',
    contenders,
    loads: [
      { name: 'GET / text', path: '/', pipeline: 1, expect: 'Hello, World!' },
      { name: 'GET /users/:id JSON', path: '/users/42', pipeline: 1, expect: '{"id":"42"}' },
      { name: 'POST /echo JSON body', path: '/echo', pipeline: 1, expect: ECHO, body: ECHO },
    ],
    reference: 'Hono on @hono/node-server',
    notes: [
      'Load: 60 keep-alive connections; the POST sends a 39-byte JSON body that each server parses and sends back',
      'wirespeed runs on its default backend (epoll on Linux); @hono/node-server in its default mode (it replaces the global Request and Response with light ones); wirespeed\'s fetch mode makes the global Response its light one likewise',
      '"wirespeed handler" is the same work in one native handler that routes by hand: the reference for what routes cost',
      'C epoll floor and bare responder (epoll): a canned "Hello, World!" for every request, no parsing (bench/c/http-floor.c, bench/load/bare-responder.ts), on the text load only: the floor in C, and what any server calling the kernel through koffi pays at least',
    ],
  })
  const router = runRouterBench(options.quick, options.log)
  return `${table}\n## Router\n\n${router.table}`
}
