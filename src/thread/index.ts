export { spawn } from './spawn.ts'
export type { SpawnOptions, Thread } from './types.ts'
