/*
 * What the two-process shared-memory drivers (bench/load/shm-pingpong.ts, bench/load/shm-stream.ts) share:
 * the C loops of bench/c/shm-loops.c through koffi, the order of the turns, and starting both sides pinned.
 *
 * Why turns: this machine changes speed within milliseconds (the C ping-pong alone measures anywhere from
 * 1 to 11 M roundtrips/s from one moment to the next), so figures measured in other processes at other
 * moments do not compare, however many rounds are taken. Both sides run wirespeed and C in turns, a chunk
 * each, the order swapped from pair to pair; a C loop runs whole inside one koffi call per chunk, so it is
 * C's speed, not koffi's.
 */
import { spawn } from 'node:child_process'
import { loadKoffi } from '../../src/ffi/koffi.ts'
import { mapShared, type Mapping } from '../../src/shm/memory.ts'
import { median, pinned } from './measure.ts'

/** Untimed pairs of turns first: the JIT's tiers, and the C library's first calls. */
export const WARM_UP_PAIRS = 10

export type Turn = 'C' | 'wirespeed'

/** Pair `pair`'s turns, in the order both sides follow. */
export function turns(pair: number, withC: boolean): Turn[] {
  if (!withC) return ['wirespeed']
  return pair % 2 === 0 ? ['C', 'wirespeed'] : ['wirespeed', 'C']
}

/**
 * Runs `pairs` pairs of turns after the warm-up, in the order both sides follow: `c(from)` runs C's loop
 * for the chunk whose sequence numbers start at `from` (1, then on by `chunk`), `wirespeed()` the channel's.
 * @returns each one's rate per turn (`chunk` per second of the turn), warm-up left out
 */
export function takeTurns(pairs: number, chunk: number, c: ((from: number) => void) | undefined, wirespeed: () => void): Record<Turn, number[]> {
  const rates: Record<Turn, number[]> = { C: [], wirespeed: [] }
  let from = 1
  for (let pair = 0; pair < WARM_UP_PAIRS + pairs; pair++) {
    for (const turn of turns(pair, c !== undefined)) {
      const started = performance.now()
      if (turn === 'C') {
        c!(from)
        from += chunk
      } else wirespeed()
      if (pair >= WARM_UP_PAIRS) rates[turn].push(chunk / ((performance.now() - started) / 1000))
    }
  }
  return rates
}

/** The C loops (bench/c/shm-loops.c) over `bytes` of shared memory named `name`, made by the side that `creates`. */
export async function cLoops(library: string, name: string, bytes: number, creates: boolean) {
  const mapping: Mapping = await mapShared(name, bytes, creates)
  const memory = new Uint8Array(mapping.buffer) // koffi passes a typed array's own memory: the mapping
  const lib = (await loadKoffi('The C loops', 'none')).load(library)
  const pingpongServe = lib.func('void pingpong_serve(void *slots, uint32_t from, uint32_t count)')
  const pingpongCall = lib.func('uint32_t pingpong_call(void *slots, uint32_t from, uint32_t count)')
  const streamProduce = lib.func('void stream_produce(void *memory, uint32_t from, uint32_t count, uint32_t batch)')
  const streamConsume = lib.func('uint32_t stream_consume(void *memory, uint32_t from, uint32_t count)')
  return {
    pingpongServe: (from: number, count: number): void => pingpongServe(memory, from, count),
    pingpongCall: (from: number, count: number): number => pingpongCall(memory, from, count) as number,
    streamProduce: (from: number, count: number, batch: number): void => streamProduce(memory, from, count, batch),
    streamConsume: (from: number, count: number): number => streamConsume(memory, from, count) as number,
    close(): void {
      if (creates) mapping.unlink()
      mapping.unmap()
    },
  }
}

/** The median of each side's rates, and of wirespeed's rate over C's in each pair. */
export function summary(rates: Record<Turn, number[]>): Record<string, number> {
  const result: Record<string, number> = { perSecond: median(rates.wirespeed) }
  if (rates.C.length > 0) {
    result.cPerSecond = median(rates.C)
    result.ratio = median(rates.wirespeed.map((rate, pair) => rate / rates.C[pair]!))
  }
  return result
}

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
