/*
 * What the running Node can do. `engines` names the oldest Node the whole package supports; a feature that
 * needs a newer one checks here and says so plainly, instead of failing later with a misleading error
 * (without reusePort, Node 20 reports a free port as in use).
 */
import { NodeTooOldError } from './errors.ts'

/** True when `version` ("22.12.0") is at least `minimum`. */
export function versionAtLeast(version: string, minimum: string): boolean {
  const have = version.replace(/^v/, '').split('.').map(Number)
  const need = minimum.split('.').map(Number)
  for (let i = 0; i < need.length; i++) {
    const a = have[i] ?? 0
    const b = need[i] ?? 0
    if (a !== b) return a > b
  }
  return true
}

/**
 * Throws unless this Node is at least `minimum`; Bun and other runtimes that report a Node version are
 * judged by it.
 * @throws NodeTooOldError "--workers needs Node 22.12 or later (this is 20.20.2)"
 * @example
 * requireNode('reusePort', '22.12')
 */
export function requireNode(feature: string, minimum: string, version = process.versions.node): void {
  if (!versionAtLeast(version, minimum)) throw new NodeTooOldError(`${feature} needs Node ${minimum} or later (this is ${version})`)
}
