export { spawn, type SpawnOptions, type Thread } from './spawn.ts'
