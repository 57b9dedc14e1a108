/*
 * Micro-benchmark: one route lookup on the GitHub REST API's table (./github-routes.ts), by kind (static,
 * parametric, mixed), for wirespeed's Router, find-my-way and Hono's router. Each router's answers are
 * checked first (✔/✘); rounds interleave the routers; the figure is the median ns per lookup.
 * Hono's RegExpRouter refuses this table (UnsupportedPathError: it cannot express `/gists/:id` beside
 * `/gists/:id/:sha` and the static `/gists/...` routes in one expression), so Hono apps with it get what
 * Hono's default SmartRouter falls back to, the TrieRouter: that is what is measured, named as Hono picked it.
 * wirespeed and find-my-way return the route and a decoded params object; Hono's routers return their match
 * arrays, from which Hono builds params later, on demand (so its figure is a lower bound of its work).
 *   node bench/micro/router.ts [--quick]
 */
import findMyWay from 'find-my-way'
import { RegExpRouter } from 'hono/router/reg-exp-router'
import { SmartRouter } from 'hono/router/smart-router'
import { TrieRouter } from 'hono/router/trie-router'
import { Router } from '../../src/app/router.ts'
import { median } from '../lib/measure.ts'
import { githubLookups, githubRoutes } from './github-routes.ts'

type Kind = keyof typeof githubLookups
interface Contender {
  name: string
  /** The route matched, as its path pattern, or undefined. */
  find(method: string, path: string): string | undefined
  /** The routes it would run, in order (Hono runs every matching route, the first registered first). */
  answers(method: string, path: string): (string | undefined)[]
}

function contenders(): Contender[] {
  const ours = new Router<string>()
  const fmw = findMyWay()
  const hono = new SmartRouter<string>({ routers: [new RegExpRouter(), new TrieRouter()] })
  for (const [method, path] of githubRoutes) {
    ours.add(`${method} ${path}`, path)
    fmw.on(method as 'GET', path, () => {}, { path })
    hono.add(method, path, path)
  }
  hono.match('GET', '/') // SmartRouter picks its router on the first match
  return [
    { name: 'wirespeed Router', find: (method, path) => ours.find(method, path)?.value ?? undefined, answers(method, path) { return [this.find(method, path)] } },
    {
      name: 'find-my-way',
      find: (method, path) => (fmw.find(method as 'GET', path)?.store as { path: string } | undefined)?.path,
      answers(method, path) { return [this.find(method, path)] },
    },
    {
      name: `Hono ${hono.name.replace(/^SmartRouter \+ /, '')} (SmartRouter's pick)`,
      find: (method, path) => hono.match(method, path)[0][0]?.[0] as string | undefined,
      answers: (method, path) => hono.match(method, path)[0].map((match) => match[0] as string),
    },
  ]
}

let sink = 0

function nsPerLookup(contender: Contender, lookups: [string, string, string][], count: number): number {
  const started = process.hrtime.bigint()
  for (let i = 0; i < count; i += lookups.length) {
    for (const [method, path] of lookups) sink += contender.find(method, path)!.length
  }
  return Number(process.hrtime.bigint() - started) / count
}

export interface RouterBenchResult {
  table: string
  ok: boolean
}

export function runRouterBench(quick: boolean, log: (line: string) => void): RouterBenchResult {
  const all = contenders()
  let ok = true
  for (const contender of all) {
    for (const [kind, lookups] of Object.entries(githubLookups)) {
      const wrong = lookups.filter(([method, path, expected]) => !contender.answers(method, path).includes(expected))
      log(`${wrong.length === 0 ? '✔' : '✘'} ${contender.name} matches the ${kind} lookups${wrong.length ? `: wrong for ${wrong.map((w) => w[1]).join(', ')}` : ''}`)
      if (wrong.length) ok = false
    }
  }
  const count = quick ? 50_000 : 2_000_000
  const rounds = quick ? 1 : 7
  const samples = new Map<string, number[]>()
  for (let i = 0; i < 3; i++) for (const contender of all) for (const lookups of Object.values(githubLookups)) nsPerLookup(contender, lookups, count / 10) // warm-up
  for (let round = 0; round < rounds; round++) {
    for (const contender of round % 2 ? [...all].reverse() : all) {
      for (const [kind, lookups] of Object.entries(githubLookups)) {
        const key = `${contender.name}\t${kind}`
        samples.set(key, [...(samples.get(key) ?? []), nsPerLookup(contender, lookups, count)])
      }
    }
  }
  const kinds = Object.keys(githubLookups) as Kind[]
  const lines = [
    `Router lookups: ${githubRoutes.length} routes of the GitHub REST API (\`bench/micro/github-routes.ts\`), ${Object.values(githubLookups)[0]!.length} paths per kind, ${rounds} interleaved rounds of ${count.toLocaleString('en-US')} lookups, median ns per lookup (one process; \`node bench/micro/router.ts\`)`,
    '',
    `| Router | ${kinds.join(' ns | ')} ns | ${kinds.map((kind) => `${kind} vs find-my-way`).join(' | ')} |`,
    `|---|${kinds.map(() => '---:').join('|')}|${kinds.map(() => '---:').join('|')}|`,
  ]
  for (const contender of all) {
    const own = kinds.map((kind) => median(samples.get(`${contender.name}\t${kind}`)!))
    const fmw = kinds.map((kind) => median(samples.get(`find-my-way\t${kind}`)!))
    lines.push(`| ${contender.name} | ${own.map((ns) => ns.toFixed(1)).join(' | ')} | ${own.map((ns, i) => `${(ns / fmw[i]!).toFixed(2)}×`).join(' | ')} |`)
  }
  if (sink === 42) log('')
  return { table: `${lines.join('\n')}\n`, ok }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { table } = runRouterBench(process.argv.includes('--quick'), (line) => process.stderr.write(`${line}\n`))
  process.stdout.write(table)
}
