/*
 * serve.json's path rules, compiled once from `StaticOptions`: redirects, rewrites, headers by glob and
 * unlisted names. Compiling is checking: a bad glob, status, destination or header is a TypeError naming
 * where it is (`static.redirects[1].source`), thrown when the StaticFiles is made, never on a request.
 */
import { compileGlob, fillDestination, type Glob } from './glob.ts'
import { headerLines } from './site.ts'
import type { StaticOptions } from './types.ts'

export interface CompiledRules {
  redirects: { glob: Glob; destination: string; status: number }[]
  rewrites: { glob: Glob; destination: string }[]
  /** Header lines for every file (the `headers` object form). */
  everyFile: string
  /** Header lines by glob of the file's path under the root (the `headers` list form). */
  byGlob: { glob: Glob; lines: string }[]
  unlisted: Glob[]
}

const REDIRECT_STATUSES = [301, 302, 303, 307, 308]

/** Compiles (and so checks) the rules of `options`. @throws TypeError naming the rule at fault */
export function compileRules(options: StaticOptions): CompiledRules {
  const rules: CompiledRules = { redirects: [], rewrites: [], everyFile: '', byGlob: [], unlisted: [] }
  for (const [index, rule] of listOf('redirects', options.redirects).entries()) {
    const where = `static.redirects[${index}]`
    checkRule(where, rule, ['source', 'destination', 'type'])
    const status = rule.type ?? 301
    if (!REDIRECT_STATUSES.includes(status)) throw new TypeError(`Invalid ${where}.type: expected one of ${REDIRECT_STATUSES.join(', ')}, got ${JSON.stringify(rule.type)}`)
    rules.redirects.push({ glob: compileGlob(rule.source, `${where}.source`), destination: destinationOf(where, rule.destination, true), status })
  }
  for (const [index, rule] of listOf('rewrites', options.rewrites).entries()) {
    const where = `static.rewrites[${index}]`
    checkRule(where, rule, ['source', 'destination'])
    rules.rewrites.push({ glob: compileGlob(rule.source, `${where}.source`), destination: destinationOf(where, rule.destination, false) })
  }
  const headers = options.headers
  if (Array.isArray(headers)) {
    for (const [index, rule] of headers.entries()) {
      const where = `static.headers[${index}]`
      checkRule(where, rule, ['source', 'headers'])
      if (!Array.isArray(rule.headers)) throw new TypeError(`Invalid ${where}.headers: expected a list of { key, value }, got ${typeof rule.headers}`)
      let lines = ''
      for (const [at, field] of rule.headers.entries()) {
        if (typeof field !== 'object' || field === null || typeof field.key !== 'string') throw new TypeError(`Invalid ${where}.headers[${at}]: expected { key, value }`)
        // (One field at a time, so two of one name, as Link may be, both go.)
        lines += headerLines(`${where}.headers[${at}]`, { [field.key]: field.value })
      }
      rules.byGlob.push({ glob: compileGlob(rule.source, `${where}.source`), lines })
    }
  } else if (headers !== undefined) {
    rules.everyFile = headerLines('static.headers', headers)
  }
  for (const [index, glob] of listOf('unlisted', options.unlisted).entries()) rules.unlisted.push(compileGlob(glob, `static.unlisted[${index}]`))
  return rules
}

/** The lines of the header rules whose glob matches `path` (a file's path under the root, "/a/b.js"). */
export function headerLinesFor(rules: CompiledRules, path: string): string {
  let lines = rules.everyFile
  for (const rule of rules.byGlob) if (rule.glob.match(path) !== null) lines += rule.lines
  return lines
}

/**
 * The first redirect or rewrite whose source matches `path` (decoded), with its destination filled in;
 * the captures are percent-encoded again, so what a client wrote cannot put a CR, LF or "?" in a Location.
 */
export function firstMatch<Rule extends { glob: Glob; destination: string }>(list: readonly Rule[], path: string): { rule: Rule; destination: string } | null {
  for (const rule of list) {
    const captures = rule.glob.match(path)
    if (captures === null) continue
    for (const name of Object.keys(captures)) captures[name] = encodeURIComponent(captures[name]!)
    return { rule, destination: fillDestination(rule.destination, captures) }
  }
  return null
}

function listOf<T>(name: string, value: T[] | undefined): T[] {
  if (value === undefined) return []
  if (!Array.isArray(value)) throw new TypeError(`Invalid option static.${name}: expected a list, got ${typeof value}`)
  return value
}

function checkRule(where: string, rule: object, keys: string[]): void {
  if (typeof rule !== 'object' || rule === null) throw new TypeError(`Invalid ${where}: expected { ${keys.join(', ')} }, got ${rule === null ? 'null' : typeof rule}`)
  for (const key of Object.keys(rule)) if (!keys.includes(key)) throw new TypeError(`Unknown key ${where}.${key}: expected ${keys.join(', ')}`)
}

/** A destination: a path on this server, or (for a redirect) an http(s) URL; no control characters. */
function destinationOf(where: string, destination: unknown, external: boolean): string {
  const ok = typeof destination === 'string' && !/[\0-\x20\x7f]/.test(destination) &&
    (destination.startsWith('/') ? !destination.startsWith('//') : external && /^https?:\/\/[^/]/.test(destination))
  if (!ok) throw new TypeError(`Invalid ${where}.destination: expected a path starting with /${external ? ' or an http(s) URL' : ''}, without spaces or control characters, got ${JSON.stringify(destination)}`)
  return destination as string
}
