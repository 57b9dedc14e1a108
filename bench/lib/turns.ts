/*
 * Starting the two-process shared-memory drivers (bench/load/shm-pingpong.ts, bench/load/shm-stream.ts)
 * pinned one to each core. The turns they take with C's loops, and the loops themselves, are
 * `wirespeed shm client`'s (src/cli/shm-turns.ts, which says why turns).
 */
import { spawn } from 'node:child_process'
import { pinned } from './measure.ts'

/**
 * Runs `script` as its two sides, `first` pinned to core 0 (it says "ready" once its memory exists) and
 * `second` to core 1, each with `args` after its role; passes on the second's stdout (its JSON line).
 */
export async function runSides(script: string, first: string, second: string, args: string[]): Promise<void> {
  const [firstCommand, ...firstArgs] = pinned('0', [process.execPath, ...process.execArgv, script, first, ...args])
  const one = spawn(firstCommand!, firstArgs, { stdio: ['ignore', 'pipe', 'inherit'] })
  const oneExited = new Promise<number | null>((resolve) => one.once('exit', resolve))
  await new Promise<void>((resolve, reject) => {
    one.stdout.once('data', () => resolve())
    one.once('exit', (code) => reject(new Error(`${first} exited with ${code}`)))
  })
  const [secondCommand, ...secondArgs] = pinned('1', [process.execPath, ...process.execArgv, script, second, ...args])
  const two = spawn(secondCommand!, secondArgs, { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  two.stdout.on('data', (bytes: Buffer) => (out += bytes))
  const code = await new Promise<number | null>((resolve) => two.once('exit', resolve))
  const firstCode = await oneExited
  if (code !== 0 || firstCode !== 0) throw new Error(`${first} and ${second} exited with ${firstCode} and ${code}`)
  process.stdout.write(out)
}
