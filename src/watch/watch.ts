/*
 * `watch()`: changes to a file or a folder tree, coalesced over a debounce window, with bounded memory.
 *
 * Strategy. On Linux, recursive `fs.watch` is emulated by Node in JavaScript, and it is not available on
 * every Node and filesystem; so there (and wherever `strategy: 'per-folder'` is asked for) wirespeed
 * watches each folder itself with a non-recursive `fs.watch` (one inotify watch per folder), walks a new
 * folder as soon as it appears and watches it too. On macOS and Windows the native recursive watcher
 * (FSEvents, ReadDirectoryChangesW) is used. `fs.watch` only says "something happened to this name", so
 * every reported name is classified by `lstat` against what was known of it: created, changed (size, mtime
 * or inode differ), deleted; a delete and a create of the same inode in one window become a rename.
 *
 * Bounds. At most `foldersMax` folders are watched and `eventsMax` distinct paths are queued per window;
 * past either, the watcher reports one `rescan` event for the root (never drops silently) and the caller
 * should treat everything under it as changed. What it knows per file is an inode, a size and an mtime.
 *
 * Worst case: a tree with more than `foldersMax` folders is only partly watched (reported as `rescan` at
 * start and whenever an unwatched folder would be needed); a burst of changes larger than `eventsMax` in
 * one window becomes one `rescan`.
 */
import { PathNotFoundError } from '../errors.ts'
import { lstatSync, readdirSync, watch as fsWatch, type FSWatcher, type Stats } from 'node:fs'
import { join, resolve, sep } from 'node:path'
import { limitOrDefault, watchLimitSpecs } from '../limits.ts'

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

interface Known {
  ino: number
  size: number
  mtimeMs: number
  folder: boolean
}

/**
 * Watches `path` and calls `onChanges` with each debounced batch. Returns a function that stops watching
 * and releases every handle.
 * @example
 * const stop = watch('./public', { debounceMs: 20 }, (changes) => console.log(changes))
 * stop()
 */
export function watch(path: string, options: WatchOptions, onChanges: (changes: Change[]) => void): () => void {
  const root = resolve(path)
  const recursive = options.recursive ?? true
  const debounceMs = limitOrDefault('debounceMs', options.debounceMs, watchLimitSpecs.debounceMs)
  const foldersMax = limitOrDefault('foldersMax', options.foldersMax, watchLimitSpecs.foldersMax)
  const eventsMax = limitOrDefault('eventsMax', options.eventsMax, watchLimitSpecs.eventsMax)
  const rootStats = statOrUndefined(root)
  if (rootStats === undefined) throw new PathNotFoundError(`Cannot watch ${root}: it does not exist`)
  const strategy = options.strategy === undefined || options.strategy === 'auto' ? (process.platform === 'linux' ? 'per-folder' : 'recursive') : options.strategy

  const known = new Map<string, Known>()
  const watchers = new Map<string, FSWatcher>()
  let queued = new Set<string>()
  let overflow = false
  let timer: NodeJS.Timeout | undefined
  let closed = false

  const remember = (file: string, stats: Stats) => known.set(file, { ino: stats.ino, size: stats.size, mtimeMs: stats.mtimeMs, folder: stats.isDirectory() })

  /**
   * Watches a folder. At start (`initial`) it records every entry and descends; for a folder that appears
   * later it queues the entries it does not know, and the next window reports them created (and descends).
   */
  const addFolder = (folder: string, initial: boolean): void => {
    if (closed) return
    let names: string[]
    try {
      names = readdirSync(folder)
    } catch {
      return
    }
    if (strategy === 'per-folder' && !watchers.has(folder)) {
      if (watchers.size >= foldersMax) {
        overflow = true
        return
      }
      try {
        const watcher = fsWatch(folder, { persistent: true }, (_event, name) => note(name === null ? folder : join(folder, name.toString())))
        watcher.on('error', () => note(folder))
        watchers.set(folder, watcher)
      } catch {
        return
      }
    }
    for (const name of names) {
      const file = join(folder, name)
      if (!initial) {
        if (!known.has(file)) queue(file)
        continue
      }
      const stats = statOrUndefined(file)
      if (stats === undefined) continue
      remember(file, stats)
      if (stats.isDirectory() && recursive) addFolder(file, true)
    }
  }

  const queue = (file: string): void => {
    if (queued.size >= eventsMax) overflow = true
    else queued.add(file)
  }

  const note = (file: string): void => {
    if (closed) return
    queue(file)
    // The window opens with the first change and closes debounceMs later: a steady stream of changes is
    // still reported every window, never held back indefinitely.
    timer ??= setTimeout(flush, debounceMs)
  }

  const flush = (): void => {
    timer = undefined
    if (closed) return
    const paths = queued
    queued = new Set()
    if (overflow) {
      overflow = false
      onChanges([{ type: 'rescan', path: root }])
      return
    }
    const created: Change[] = []
    const deleted = new Map<number, Change>()
    const changes: Change[] = []
    for (const file of paths) {
      const before = known.get(file)
      const now = statOrUndefined(file)
      if (now === undefined) {
        if (before === undefined) continue
        forget(file)
        const change: Change = { type: 'delete', path: file }
        deleted.set(before.ino, change)
        changes.push(change)
        continue
      }
      remember(file, now)
      if (before === undefined) {
        const change: Change = { type: 'create', path: file }
        created.push(change)
        changes.push(change)
        // A folder that appears is watched now; what it already holds is reported in the next window.
        if (now.isDirectory() && recursive && file !== root) addFolder(file, false)
      } else if (before.ino !== now.ino || before.size !== now.size || before.mtimeMs !== now.mtimeMs) {
        if (!now.isDirectory()) changes.push({ type: 'change', path: file })
      }
    }
    // A delete and a create of the same inode in one window are a rename.
    for (const change of created) {
      const ino = known.get(change.path)?.ino
      const gone = ino === undefined ? undefined : deleted.get(ino)
      if (gone === undefined) continue
      change.type = 'rename'
      change.from = gone.path
      changes.splice(changes.indexOf(gone), 1)
      deleted.delete(ino!)
    }
    // Paths queued while looking into new folders come in the next window.
    if (queued.size > 0 || overflow) timer ??= setTimeout(flush, debounceMs)
    if (changes.length > 0) onChanges(changes)
  }

  const forget = (file: string): void => {
    known.delete(file)
    const watcher = watchers.get(file)
    if (watcher) {
      watcher.close()
      watchers.delete(file)
    }
    const prefix = file + sep
    for (const path of known.keys()) if (path.startsWith(prefix)) known.delete(path)
    for (const [folder, child] of watchers) {
      if (folder.startsWith(prefix)) {
        child.close()
        watchers.delete(folder)
      }
    }
  }

  if (rootStats.isDirectory()) {
    remember(root, rootStats)
    addFolder(root, true)
    if (strategy === 'recursive') {
      const watcher = fsWatch(root, { persistent: true, recursive }, (_event, name) => note(name === null ? root : join(root, name.toString())))
      watcher.on('error', () => note(root))
      watchers.set(root, watcher)
    }
  } else {
    // A single file: watch its folder (so that replacing the file by rename is seen) and keep only its name.
    remember(root, rootStats)
    const folder = resolve(root, '..')
    const watcher = fsWatch(folder, { persistent: true }, (_event, name) => {
      const file = name === null ? root : join(folder, name.toString())
      if (file === root) note(root)
    })
    watcher.on('error', () => note(root))
    watchers.set(folder, watcher)
  }
  if (overflow) {
    overflow = false
    queueMicrotask(() => !closed && onChanges([{ type: 'rescan', path: root }]))
  }

  return () => {
    closed = true
    clearTimeout(timer)
    for (const watcher of watchers.values()) watcher.close()
    watchers.clear()
    known.clear()
  }
}

function statOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path)
  } catch {
    return undefined
  }
}
