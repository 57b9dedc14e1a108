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
import { lstatSync, readdirSync, watch as fsWatch, type FSWatcher, type Stats } from 'node:fs'
import { join, resolve, sep } from 'node:path'
import { PathNotFoundError } from '../errors.ts'
import { limitOrDefault, watchLimitSpecs } from '../limits.ts'
import type { Change, WatchOptions } from './types.ts'


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
  const settings: Settings = {
    root,
    recursive: options.recursive ?? true,
    debounceMs: limitOrDefault('debounceMs', options.debounceMs, watchLimitSpecs.debounceMs),
    foldersMax: limitOrDefault('foldersMax', options.foldersMax, watchLimitSpecs.foldersMax),
    eventsMax: limitOrDefault('eventsMax', options.eventsMax, watchLimitSpecs.eventsMax),
    strategy: options.strategy === undefined || options.strategy === 'auto' ? (process.platform === 'linux' ? 'per-folder' : 'recursive') : options.strategy,
  }
  const rootStats = statOrUndefined(root)
  if (rootStats === undefined) throw new PathNotFoundError(`Cannot watch ${root}: it does not exist`)
  const watcher = new TreeWatcher(settings, onChanges)
  watcher.start(rootStats)
  return () => watcher.stop()
}

interface Settings {
  readonly root: string
  readonly recursive: boolean
  readonly debounceMs: number
  readonly foldersMax: number
  readonly eventsMax: number
  readonly strategy: 'per-folder' | 'recursive'
}

/** What one `watch()` knows and holds: the files seen, the fs watchers, and the names queued this window. */
class TreeWatcher {
  readonly #settings: Settings
  readonly #onChanges: (changes: Change[]) => void
  readonly #known = new Map<string, Known>()
  readonly #watchers = new Map<string, FSWatcher>()
  #queued = new Set<string>()
  #overflow = false
  #timer: NodeJS.Timeout | undefined
  #closed = false

  constructor(settings: Settings, onChanges: (changes: Change[]) => void) {
    this.#settings = settings
    this.#onChanges = onChanges
  }

  /** Records the tree and starts watching it (or, for a file, its folder). */
  start(rootStats: Stats): void {
    const { root, recursive, strategy } = this.#settings
    this.#remember(root, rootStats)
    if (rootStats.isDirectory()) {
      this.#addFolder(root, true)
      if (strategy === 'recursive') this.#watchFolder(root, recursive, (file) => this.#note(file))
    } else {
      // A single file: watch its folder (so that replacing the file by rename is seen) and keep only its name.
      this.#watchFolder(resolve(root, '..'), false, (file) => file === root && this.#note(root))
    }
    if (this.#overflow) {
      this.#overflow = false
      queueMicrotask(() => !this.#closed && this.#onChanges([{ type: 'rescan', path: root }]))
    }
  }

  stop(): void {
    this.#closed = true
    clearTimeout(this.#timer)
    for (const watcher of this.#watchers.values()) watcher.close()
    this.#watchers.clear()
    this.#known.clear()
  }

  #remember(file: string, stats: Stats): void {
    this.#known.set(file, { ino: stats.ino, size: stats.size, mtimeMs: stats.mtimeMs, folder: stats.isDirectory() })
  }

  /** One fs.watch on `folder`; every name it reports goes to `onName` as an absolute path. */
  #watchFolder(folder: string, recursive: boolean, onName: (file: string) => void): boolean {
    try {
      const watcher = fsWatch(folder, { persistent: true, recursive }, (_event, name) => onName(name === null ? folder : join(folder, name.toString())))
      watcher.on('error', () => onName(folder))
      this.#watchers.set(folder, watcher)
      return true
    } catch {
      return false
    }
  }

  /**
   * Watches a folder. At start (`initial`) it records every entry and descends; for a folder that appears
   * later it queues the entries it does not know, and the next window reports them created (and descends).
   */
  #addFolder(folder: string, initial: boolean): void {
    if (this.#closed) return
    let names: string[]
    try {
      names = readdirSync(folder)
    } catch {
      return
    }
    if (this.#settings.strategy === 'per-folder' && !this.#watchers.has(folder)) {
      if (this.#watchers.size >= this.#settings.foldersMax) {
        this.#overflow = true
        return
      }
      if (!this.#watchFolder(folder, false, (file) => this.#note(file))) return
    }
    for (const name of names) {
      const file = join(folder, name)
      if (!initial) {
        if (!this.#known.has(file)) this.#queue(file)
        continue
      }
      const stats = statOrUndefined(file)
      if (stats === undefined) continue
      this.#remember(file, stats)
      if (stats.isDirectory() && this.#settings.recursive) this.#addFolder(file, true)
    }
  }

  #queue(file: string): void {
    if (this.#queued.size >= this.#settings.eventsMax) this.#overflow = true
    else this.#queued.add(file)
  }

  #note(file: string): void {
    if (this.#closed) return
    this.#queue(file)
    // The window opens with the first change and closes debounceMs later: a steady stream of changes is
    // still reported every window, never held back indefinitely.
    this.#timer ??= setTimeout(() => this.#flush(), this.#settings.debounceMs)
  }

  /** Ends a window: classifies every name queued in it and reports the changes (or one rescan). */
  #flush(): void {
    this.#timer = undefined
    if (this.#closed) return
    const paths = this.#queued
    this.#queued = new Set()
    if (this.#overflow) {
      this.#overflow = false
      this.#onChanges([{ type: 'rescan', path: this.#settings.root }])
      return
    }
    const changes = this.#classify(paths)
    // Paths queued while looking into new folders come in the next window.
    if (this.#queued.size > 0 || this.#overflow) this.#timer ??= setTimeout(() => this.#flush(), this.#settings.debounceMs)
    if (changes.length > 0) this.#onChanges(changes)
  }

  /** Each queued name by lstat against what was known: created, changed, deleted; then renames paired. */
  #classify(paths: Set<string>): Change[] {
    const { root, recursive } = this.#settings
    const created: Change[] = []
    const deleted = new Map<number, Change>()
    const changes: Change[] = []
    for (const file of paths) {
      const before = this.#known.get(file)
      const now = statOrUndefined(file)
      if (now === undefined) {
        if (before === undefined) continue
        this.#forget(file)
        const change: Change = { type: 'delete', path: file }
        deleted.set(before.ino, change)
        changes.push(change)
        continue
      }
      this.#remember(file, now)
      if (before === undefined) {
        const change: Change = { type: 'create', path: file }
        created.push(change)
        changes.push(change)
        // A folder that appears is watched now; what it already holds is reported in the next window.
        if (now.isDirectory() && recursive && file !== root) this.#addFolder(file, false)
      } else if (before.ino !== now.ino || before.size !== now.size || before.mtimeMs !== now.mtimeMs) {
        if (!now.isDirectory()) changes.push({ type: 'change', path: file })
      }
    }
    this.#pairRenames(created, deleted, changes)
    return changes
  }

  /** A delete and a create of the same inode in one window are a rename. */
  #pairRenames(created: Change[], deleted: Map<number, Change>, changes: Change[]): void {
    for (const change of created) {
      const ino = this.#known.get(change.path)?.ino
      const gone = ino === undefined ? undefined : deleted.get(ino)
      if (gone === undefined) continue
      change.type = 'rename'
      change.from = gone.path
      changes.splice(changes.indexOf(gone), 1)
      deleted.delete(ino!)
    }
  }

  /** Forgets a deleted path and everything under it, closing the watchers of folders that went with it. */
  #forget(file: string): void {
    this.#known.delete(file)
    const prefix = file + sep
    for (const path of this.#known.keys()) if (path.startsWith(prefix)) this.#known.delete(path)
    for (const [folder, watcher] of this.#watchers) {
      if (folder === file || folder.startsWith(prefix)) {
        watcher.close()
        this.#watchers.delete(folder)
      }
    }
  }
}

function statOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path)
  } catch {
    return undefined
  }
}
