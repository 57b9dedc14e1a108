export { watch, type Change, type ChangeType, type WatchOptions } from './watch.ts'
