/*
 * A small flag parser for the subcommands: `--name value`, `--name=value` and boolean `--flag`, with
 * errors that say what was expected. (node:util parseArgs does the parsing; this adds typed getters, and
 * words its refusals for a person at a command line: parseArgs' own advice, to put an unknown option after
 * `--` as a positional, which is never what was meant here.)
 *
 * The subcommands throw UsageError (src/errors.ts) for what they refuse; it is re-exported here beside the
 * parser that throws it.
 */
import { parseArgs } from 'node:util'
import { ListenError, UsageError } from '../errors.ts'

export { UsageError }

export type FlagSpec = Record<string, { type: 'string' | 'boolean'; default?: string | boolean; multiple?: boolean }>

/**
 * Parses `args` by `spec`; positionals are allowed. @throws UsageError naming the option at fault: one the
 * command does not have (code UNKNOWN_OPTION), a value missing, or a value given to a boolean flag
 */
export function parseFlags<const Spec extends FlagSpec>(args: string[], spec: Spec) {
  try {
    return parseArgs({ args, options: spec, allowPositionals: true, strict: true })
  } catch (error) {
    throw refusal(args, spec) ?? new UsageError((error as Error).message)
  }
}

/** The first option in `args` that `spec` refuses, as a UsageError (undefined if none is found). */
function refusal(args: string[], spec: FlagSpec): UsageError | undefined {
  const { tokens } = parseArgs({ args, options: spec, allowPositionals: true, strict: false, tokens: true })
  for (const token of tokens) {
    if (token.kind !== 'option') continue
    const option = spec[token.name]
    if (option === undefined) return new UsageError(`Unknown option ${token.rawName}`, token.rawName)
    // A string option followed by another option (`--port --json`) is refused by parseArgs as ambiguous.
    const missing = token.value === undefined || (token.inlineValue === false && token.value.startsWith('-'))
    if (option.type === 'string' && missing) return new UsageError(`${token.rawName} needs a value, as in ${token.rawName}=VALUE`)
    if (option.type === 'boolean' && token.value !== undefined) return new UsageError(`${token.rawName} takes no value (got ${JSON.stringify(token.value)})`)
  }
  return undefined
}

/** Reads an integer flag within [min, max]. */
export function integerFlag(name: string, text: string | undefined, fallback: number, min: number, max: number): number {
  if (text === undefined) return fallback
  const value = Number(text)
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new UsageError(`Invalid --${name} ${JSON.stringify(text)}: expected an integer from ${min} to ${max}`)
  }
  return value
}

/**
 * The library's port-in-use error, reworded for a person at a command line: the library names the `port`
 * option, the person can change `--port`. Any other error is thrown as it came.
 */
export function withPortFlag(host: string, port: number): (error: unknown) => never {
  return (error) => {
    if (!(error instanceof ListenError) || error.reason !== 'EADDRINUSE') throw error
    throw new ListenError(`Cannot listen on ${host}:${port}: the port is in use; pick another with --port (0 picks a free one) or stop what holds it`, error.reason, { cause: error })
  }
}
