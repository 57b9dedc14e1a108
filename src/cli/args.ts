/*
 * A small flag parser for the subcommands: `--name value`, `--name=value` and boolean `--flag`, with
 * errors that say what was expected. (node:util parseArgs does the parsing; this adds typed getters.)
 */
import { parseArgs } from 'node:util'

export class UsageError extends Error {
  override name = 'UsageError'
}

export type FlagSpec = Record<string, { type: 'string' | 'boolean'; default?: string | boolean }>

export function parseFlags<const Spec extends FlagSpec>(args: string[], spec: Spec) {
  try {
    return parseArgs({ args, options: spec, allowPositionals: true, strict: true })
  } catch (error) {
    throw new UsageError((error as Error).message)
  }
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
