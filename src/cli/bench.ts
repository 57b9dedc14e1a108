/*
 * `wirespeed bench [suite] [--quick]`: runs bench/run.ts, which lives in the repository (it is not part of
 * the published package: benchmarks start nginx, wrk and other contenders that a library user does not need).
 */
import { existsSync } from 'node:fs'

export async function run(args: string[]): Promise<number> {
  const runner = new URL('../../bench/run.ts', import.meta.url)
  if (!existsSync(runner)) {
    process.stderr.write('wirespeed bench: the benchmarks run from a checkout of the repository (npm run bench)\n')
    return 2
  }
  const { main } = (await import(runner.href)) as { main(args: string[]): Promise<number> }
  return main(args)
}
