export { serve } from './serve.ts'
export type { OneLoopServeOptions, ServeOptions, Server, WorkersServeOptions } from './types.ts'
