export { StaticFiles } from './static-files.ts'
export type { StaticOptions } from './types.ts'
