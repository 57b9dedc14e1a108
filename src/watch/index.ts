export { watch } from './watch.ts'
export type { Change, ChangeType, WatchOptions } from './types.ts'
