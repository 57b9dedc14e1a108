/*
 * A site's config file, in `serve`'s serve.json shape, turned into StaticOptions.
 *
 * The keys serve.json has and wirespeed does mean the same (`public`, `cleanUrls`, `rewrites`,
 * `redirects`, `headers`, `directoryListing`, `unlisted`, `trailingSlash`), so a site that has one moves
 * without edits; `etag` and `symlinks: true` are accepted as what wirespeed always does. wirespeed's own
 * keys are the StaticOptions of the same names (`spa`, `notFound`, `cors`, `cacheControl`,
 * `hashedCacheControl`, `compress`, `mimeTypes`, …). Anything else, or a form of a serve.json key that is
 * not supported (`cleanUrls` as a list of globs), is a TypeError naming the key: a typo would otherwise be
 * ignored, and the site served otherwise than written.
 */
import { readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { checkStaticOptions } from './static-files.ts'
import type { StaticOptions } from './types.ts'

/** serve.json's keys that map to a StaticOptions key of the same name and meaning. */
const SERVE_KEYS = ['cleanUrls', 'rewrites', 'redirects', 'headers', 'directoryListing', 'unlisted', 'trailingSlash'] as const
/** wirespeed's own keys: StaticOptions of the same name. */
const OWN_KEYS = ['spa', 'notFound', 'cors', 'cacheControl', 'hashedCacheControl', 'compress', 'compressBytesMin', 'compressStreamsMax', 'mimeTypes', 'dotfiles', 'fileBytesMax', 'cacheBytesMax', 'listingEntriesMax'] as const
/** Every key a config file may have. */
export const CONFIG_KEYS = ['$schema', 'public', 'etag', 'symlinks', ...SERVE_KEYS, ...OWN_KEYS] as const

/**
 * The StaticOptions a config file's JSON asks for, its `public` resolved against `dir` (the file's folder;
 * without `public`, `dir` is the root). @throws TypeError naming the key at fault
 */
export function siteConfig(config: unknown, dir: string, file = 'the config'): StaticOptions {
  if (typeof config !== 'object' || config === null || Array.isArray(config)) throw new TypeError(`Invalid ${file}: expected a JSON object, got ${Array.isArray(config) ? 'a list' : typeof config}`)
  const given = config as Record<string, unknown>
  for (const key of Object.keys(given)) {
    if (!(CONFIG_KEYS as readonly string[]).includes(key)) throw new TypeError(`Unknown key ${key} in ${file}: expected one of ${CONFIG_KEYS.join(', ')}`)
  }
  for (const key of ['cleanUrls', 'directoryListing'] as const) {
    if (Array.isArray(given[key])) throw new TypeError(`Invalid ${key} in ${file}: a list of globs is not supported, only true or false`)
  }
  if (given.symlinks === false) throw new TypeError(`Invalid symlinks in ${file}: false is not supported (a symlink is served when its target is inside the root)`)
  for (const key of ['etag', 'symlinks'] as const) {
    if (given[key] !== undefined && typeof given[key] !== 'boolean') throw new TypeError(`Invalid ${key} in ${file}: expected true or false`)
  }
  if (given.public !== undefined && typeof given.public !== 'string') throw new TypeError(`Invalid public in ${file}: expected a folder path, got ${typeof given.public}`)
  // The file's values are unchecked here: checkStaticOptions() below judges each as the option it names.
  const picked: { root: string; [key: string]: unknown } = { root: resolve(dir, (given.public as string | undefined) ?? '.') }
  for (const key of [...SERVE_KEYS, ...OWN_KEYS]) {
    if (given[key] !== undefined) picked[key] = given[key]
  }
  const options: StaticOptions = picked
  try {
    checkStaticOptions(options)
  } catch (error) {
    // The option's message, said of the file's key ("static.redirects[0].source" → "redirects[0].source").
    if (error instanceof TypeError) throw new TypeError(`${error.message.replaceAll('option static.', '').replaceAll('static.', '')} (in ${file})`)
    throw error
  }
  return options
}

/** Reads a config file. @throws TypeError naming the file and what is wrong with it */
export function readSiteConfig(file: string): StaticOptions {
  let json: unknown
  try {
    json = JSON.parse(readFileSync(file, 'utf8'))
  } catch (error) {
    throw new TypeError(`Cannot read ${file}: ${(error as Error).message}`)
  }
  return siteConfig(json, dirname(resolve(file)), file)
}
