/*
 * Path globs of serve.json (`rewrites`, `redirects`, `headers`, `unlisted`), compiled once to a RegExp.
 *
 * serve-handler matches a source with minimatch, or with path-to-regexp for `:name` segments; this is the
 * part of both that serve.json sites use: `*` (within a segment), `**` (any segments, a whole segment),
 * `?` (one character), `{a,b}` and `@(a|b)` (alternatives, not nested), `:name` (a whole segment,
 * captured for a destination's `:name`), and a leading `!` (the rule applies where the glob does not
 * match). A source without a leading slash gets one. Anything else it could mean (`[…]` classes,
 * `+(…)`/`*(…)`/`!(…)` extglobs, nesting, an unbalanced brace) is refused at start, naming the glob, rather
 * than matched otherwise than the site expects.
 */

/** A compiled glob: `match()` returns its `:name` captures ({} without any), or null when it does not match. */
export interface Glob {
  readonly source: string
  readonly negated: boolean
  match(path: string): Record<string, string> | null
}

/**
 * Compiles a glob. @throws TypeError naming `where` and saying what was expected
 * @example
 * compileGlob('/projects/:id/edit', 'redirects[0].source').match('/projects/7/edit') // { id: '7' }
 */
export function compileGlob(source: string, where: string): Glob {
  if (typeof source !== 'string' || source === '' || source === '!') throw new TypeError(`Invalid glob in ${where}: expected a path pattern such as "/assets/**", got ${JSON.stringify(source)}`)
  const negated = source.startsWith('!')
  let pattern = negated ? source.slice(1) : source
  if (!pattern.startsWith('/')) pattern = `/${pattern}`
  const names: string[] = []
  let regex = ''
  let group = 0 // inside {…} or @(…): 1
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!
    const refuse = (what: string): never => {
      throw new TypeError(`Invalid glob ${JSON.stringify(source)} in ${where}: ${what} (supported: *, **, ?, {a,b}, @(a|b), :name, a leading !)`)
    }
    if (c === '*' && pattern[i + 1] === '*') {
      const whole = pattern[i - 1] === '/' && (i + 2 === pattern.length || pattern[i + 2] === '/')
      if (!whole || group) refuse('** must be a whole segment')
      // "/**/" is any number of segments, none included; a trailing "/**" is anything below, or nothing.
      if (i + 2 === pattern.length) {
        regex = regex.slice(0, -1) + '(?:/.*)?'
        i += 1
      } else {
        regex = regex.slice(0, -1) + '(?:/.*)?/'
        i += 2
      }
    } else if (c === '*') {
      if (pattern[i + 1] === '(') refuse('*(…) is not supported')
      regex += '[^/]*'
    } else if (c === '?') {
      if (pattern[i + 1] === '(') refuse('?(…) is not supported')
      regex += '[^/]'
    } else if (c === '{' || (c === '@' && pattern[i + 1] === '(')) {
      if (group) refuse('alternatives cannot be nested')
      group = 1
      regex += '(?:'
      if (c === '@') i++
    } else if ((c === ',' || c === '|') && group) {
      regex += '|'
    } else if (c === '}' || c === ')') {
      if (!group) refuse(`an unmatched ${c}`)
      group = 0
      regex += ')'
    } else if (c === ':' && pattern[i - 1] === '/' && /[A-Za-z_]/.test(pattern[i + 1] ?? '')) {
      const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(pattern.slice(i + 1))![0]
      if (names.includes(name)) refuse(`:${name} appears twice`)
      names.push(name)
      regex += '([^/]+)'
      i += name.length
    } else if (c === '[' || c === ']' || ((c === '+' || c === '!') && pattern[i + 1] === '(')) {
      refuse(`${c === '[' || c === ']' ? 'character classes' : `${c}(…)`} are not supported`)
    } else {
      // ("/" needs no escape in a RegExp made from a string, and "/**" above strips the one before it.)
      regex += c.replace(/[.^$+()|\\]/g, '\\$&')
    }
  }
  if (group) throw new TypeError(`Invalid glob ${JSON.stringify(source)} in ${where}: an unclosed { or @(`)
  const compiled = new RegExp(`^${regex}$`)
  return {
    source,
    negated,
    match(path) {
      const found = compiled.exec(path)
      if ((found === null) !== negated) return null
      const captures: Record<string, string> = {}
      if (found !== null) names.forEach((name, index) => (captures[name] = found[index + 1]!))
      return captures
    },
  }
}

/** A destination with each `:name` replaced by its capture (a name not captured stays as written). */
export function fillDestination(destination: string, captures: Record<string, string>): string {
  return destination.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, (text, name: string) => captures[name] ?? text)
}
