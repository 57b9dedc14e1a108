/*
 * Building the C references that ship in a checkout of wirespeed (bench/c): the benchmarks and
 * `wirespeed shm client` (which runs C's loops beside the channel's, src/cli/shm-turns.ts) compile them with
 * the machine's C compiler, once, into bench/.work, and again only when a source is newer than the output.
 * An installed package has no bench/c: callers say so rather than build.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, renameSync, statSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

/** The package's root: a checkout, or the installed package (src/cli and dist/cli are both two levels down). */
const root = fileURLToPath(new URL('../../', import.meta.url))

/** The path of a command found on PATH (or the first of `paths` that exists), or undefined. */
export function which(command: string, ...paths: string[]): string | undefined {
  for (const path of paths) if (existsSync(path)) return path
  try {
    return execFileSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' }).trim() || undefined
  } catch {
    return undefined
  }
}

let compiler: string | null | undefined
/** The machine's C compiler (cc, gcc or clang), or undefined; looked up once. */
export function cCompiler(): string | undefined {
  if (compiler === undefined) compiler = which('cc') ?? which('gcc') ?? which('clang') ?? null
  return compiler ?? undefined
}

/**
 * Compiles a C reference `source` to `output` (again only when the source, or a file it includes, is newer).
 * The output is written under another name and renamed, so that two processes building at once (a demo's
 * two sides) never load a half-written file.
 * @param flags more compiler flags (`-shared -fPIC` for a library)
 * @param includes files `source` includes, whose changes rebuild it too
 * @returns why it cannot run here, or undefined when it is ready
 */
export function buildC(source: string, output: string, log: (line: string) => void, flags: string[] = [], includes: string[] = []): string | undefined {
  const cc = cCompiler()
  if (!cc) return 'no C compiler found'
  try {
    mkdirSync(output.slice(0, output.lastIndexOf('/')), { recursive: true })
    if (!existsSync(output) || [source, ...includes].some((file) => statSync(output).mtimeMs < statSync(file).mtimeMs)) {
      const partial = `${output}.${process.pid}.partial`
      execFileSync(cc, ['-O2', ...flags, '-o', partial, source], { stdio: 'pipe' })
      renameSync(partial, output)
      log(`built ${output} with ${cc}`)
    }
    return undefined
  } catch (error) {
    return `${source} did not build: ${(error as Error).message.split('\n')[0]}`
  }
}

/**
 * A C reference for a demo to run beside itself: `choice` is `auto` (the checkout's bench/c/`source`, built
 * into bench/.work/`output` with the machine's C compiler when missing or older), `off`, or the path of one
 * already built.
 * @returns its path, or why it cannot run here
 */
export function findCReference(choice: string, source: string, output: string, flags: string[], log: (line: string) => void): { path: string } | { why: string } {
  if (choice === 'off') return { why: 'turned off (--reference off)' }
  if (choice !== 'auto') return existsSync(choice) ? { path: choice } : { why: `nothing at ${choice}` }
  const sourcePath = `${root}bench/c/${source}`
  if (!existsSync(sourcePath)) return { why: `its source (bench/c/${source}) comes with a checkout of wirespeed, not with the installed package` }
  const path = `${root}bench/.work/${output}`
  const why = buildC(sourcePath, path, log, flags)
  return why === undefined ? { path } : { why }
}
