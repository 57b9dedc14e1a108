/* The types a user of `watch()` writes against. */

export type ChangeType = 'create' | 'change' | 'delete' | 'rename' | 'rescan'

export interface Change {
  type: ChangeType
  /** Absolute path of what changed (the new path for a rename; the root for a rescan). */
  path: string
  /** For a rename: the old path. */
  from?: string
}

export interface WatchOptions {
  /** Watch the whole tree under a folder (default true). */
  recursive?: boolean
  /** Quiet time before a batch of changes is reported, in milliseconds (default 20). */
  debounceMs?: number
  /** Folders watched at most (default 10,000). */
  foldersMax?: number
  /** Distinct paths queued in one window at most (default 10,000); past it: one rescan. */
  eventsMax?: number
  /** 'auto' picks per-folder on Linux and the native recursive watcher elsewhere. */
  strategy?: 'auto' | 'per-folder' | 'recursive'
}
