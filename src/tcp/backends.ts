/*
 * The backend registry: one record per transport backend, in order of preference, and `chooseBackend()`,
 * which walks it. A record says where its backend loads (platforms, runtimes), how to load it (`load()`,
 * which binds its system calls and may fail with the reason), and what it can do (`capabilities`). Nothing
 * outside src/tcp names a backend: callers ask for a capability (`chooseBackend({ needs })`,
 * `backendChoice().capabilities`), so a new backend (io_uring, say) is one record here plus its folder.
 *
 *   preference:  epoll (Linux, through koffi)  →  node (node:net, everywhere)
 *
 * The choice: the `backend` option, else WIRESPEED_BACKEND, else the first record that runs here, has
 * every capability the caller needs and loads. An explicit backend that cannot run here, lacks a
 * capability or fails to load is an error saying why; the default passes over it to the next record and
 * says why in `reason` (the listener's `backendReason`).
 */
import { KoffiMissingError } from '../errors.ts'
import type { TransportBackend } from './backend.ts'
import { nodeBackend } from './node/listen.ts'
import type { Backend } from './types.ts'

/** What a backend can do. Callers outside src/tcp ask for these, never for a backend by name. */
export interface BackendCapabilities {
  /** Its connections have `sendFile()`: a file leaves from the page cache, not through JavaScript. */
  readonly sendFile: boolean
  /** It terminates TLS itself (issue 37 brings it to both). */
  readonly tls: boolean
  /** It can serve on a listening socket it did not open (an inherited `{ fd }`; issue 39). */
  readonly adoptFd: boolean
  /** An idle loop waits inside Node's own loop (costs no thread); otherwise on the park budget (park-budget.ts). */
  readonly parksInNodeLoop: boolean
  /**
   * It drives sockets with system calls from the calling thread (src/ffi/libc.ts), so a caller may do the
   * same on its own socket: the TCP channel (src/shm/socket-channel.ts) then needs no bridge thread.
   */
  readonly rawSockets: boolean
}

export type Capability = keyof BackendCapabilities

/** A JavaScript runtime, as `runtimeName()` tells them apart. */
export type Runtime = 'node' | 'bun' | 'deno'

/** One backend: where it loads, how, and what it can do. */
export interface BackendRecord {
  readonly name: Backend
  /** The platforms it runs on (`process.platform`), or 'any'. */
  readonly platforms: readonly NodeJS.Platform[] | 'any'
  /** The runtimes it runs on. */
  readonly runtimes: readonly Runtime[]
  readonly capabilities: BackendCapabilities
  /** Loads it (binding its system calls; opening nothing). @throws KoffiMissingError and the like, saying why */
  load(): Promise<TransportBackend>
}

/** The backends in order of preference: the default is the first that runs here and loads. */
export const BACKENDS: readonly BackendRecord[] = [
  {
    name: 'epoll',
    platforms: ['linux'],
    runtimes: ['node', 'bun', 'deno'],
    capabilities: { sendFile: true, tls: false, adoptFd: false, parksInNodeLoop: true, rawSockets: true },
    async load() {
      const { epollBackend, ready } = await import('./epoll/listen.ts')
      await ready()
      return epollBackend
    },
  },
  {
    name: 'node',
    platforms: 'any',
    runtimes: ['node', 'bun', 'deno'],
    capabilities: { sendFile: false, tls: false, adoptFd: false, parksInNodeLoop: true, rawSockets: false },
    load: async () => nodeBackend,
  },
]

/** What a caller needs of the backend: each capability with the option that needs it (for the messages). */
export type BackendNeeds = Partial<Record<Capability, string>>

/** The backend chosen, what it can do, and why it was chosen. */
export interface BackendChoice {
  readonly name: Backend
  readonly backend: TransportBackend
  readonly capabilities: BackendCapabilities
  /** Why: "the default on Linux", "WIRESPEED_BACKEND=node", "the backend option"... */
  readonly reason: string
}

export interface ChooseOptions {
  /** The `backend` option (else WIRESPEED_BACKEND, else the default). */
  asked?: string
  needs?: BackendNeeds
  /** For tests: the environment, platform and runtime to judge by. */
  environment?: string | undefined
  platform?: NodeJS.Platform
  runtime?: Runtime
}

/**
 * The backend to use, and why: the `backend` option, else WIRESPEED_BACKEND, else the first record that
 * runs here, has what the caller needs, and loads.
 * @throws RangeError for an explicit backend that is unknown, cannot run here or lacks a needed capability
 * @example
 * const { backend, reason } = await chooseBackend({ needs: { sendFile: 'the static option' } })
 */
export async function chooseBackend(options: ChooseOptions = {}): Promise<BackendChoice> {
  const needs = options.needs ?? {}
  const platform = options.platform ?? process.platform
  const runtime = options.runtime ?? runtimeName()
  const fromEnvironment = 'environment' in options ? options.environment : process.env.WIRESPEED_BACKEND
  if (options.asked !== undefined) return explicit(options.asked, 'option backend', 'the backend option', needs, platform, runtime)
  if (fromEnvironment !== undefined && fromEnvironment !== '') {
    return explicit(fromEnvironment, 'WIRESPEED_BACKEND', `WIRESPEED_BACKEND=${fromEnvironment}`, needs, platform, runtime)
  }
  // Why each record before the chosen one was passed over: the chosen one's reason says so when it is not the first.
  const passed: string[] = []
  for (const record of BACKENDS) {
    const cannot = cannotRun(record, platform, runtime) ?? lacks(record, needs)
    if (cannot !== undefined) {
      passed.push(cannot)
      continue
    }
    try {
      const backend = await record.load()
      const reason = passed.length === 0 ? `the default on ${platformName(platform)}` : `${passed.join('; ')}, so ${record.name}`
      return { name: record.name, backend, capabilities: record.capabilities, reason }
    } catch (error) {
      if (!(error instanceof KoffiMissingError)) throw error
      passed.push(`${record.name} cannot load without koffi (npm install koffi)`)
    }
  }
  throw new RangeError(`No transport backend runs here with what is needed: ${passed.join('; ')}`)
}

/** The backend a listen() with no `backend` option would use now, with its capabilities. */
export function backendChoice(): Promise<BackendChoice> {
  return chooseBackend()
}

/** The name of the backend a listen() with no `backend` option would use now (for tests that look under the hood). */
export async function defaultBackend(): Promise<Backend> {
  return (await chooseBackend()).name
}

/**
 * Every backend that runs and loads here, the default first, and why each other one does not (the test
 * runner runs the socket suites once per backend).
 */
export async function backendsHere(): Promise<{ here: Backend[]; missing: { name: Backend; reason: string }[] }> {
  const first = (await chooseBackend({ environment: undefined })).name
  const here: Backend[] = [first]
  const missing: { name: Backend; reason: string }[] = []
  for (const record of BACKENDS) {
    if (record.name === first) continue
    const cannot = cannotRun(record, process.platform, runtimeName())
    if (cannot !== undefined) {
      missing.push({ name: record.name, reason: cannot })
      continue
    }
    try {
      await record.load()
      here.push(record.name)
    } catch (error) {
      if (!(error instanceof KoffiMissingError)) throw error
      missing.push({ name: record.name, reason: 'koffi is not installed' })
    }
  }
  return { here, missing }
}

async function explicit(name: string, option: string, reason: string, needs: BackendNeeds, platform: NodeJS.Platform, runtime: Runtime): Promise<BackendChoice> {
  const record = BACKENDS.find((one) => one.name === name)
  const invalid = option === 'option backend' ? `Invalid option backend` : `Invalid ${option}`
  if (record === undefined) throw new RangeError(`${invalid} ${JSON.stringify(name)}: expected one of ${BACKENDS.map((one) => one.name).join(', ')}`)
  const cannot = cannotRun(record, platform, runtime) ?? lacks(record, needs)
  if (cannot !== undefined) {
    const instead = BACKENDS.find((one) => one !== record && cannotRun(one, platform, runtime) === undefined && lacks(one, needs) === undefined)
    throw new RangeError(`${invalid}: ${cannot}${instead === undefined ? '' : `; use ${instead.name}`}`)
  }
  return { name: record.name, backend: await record.load(), capabilities: record.capabilities, reason }
}

/** Why `record` cannot run on this platform and runtime, or undefined when it can. */
function cannotRun(record: BackendRecord, platform: NodeJS.Platform, runtime: Runtime): string | undefined {
  if (record.platforms !== 'any' && !record.platforms.includes(platform)) {
    return `${record.name} needs ${record.platforms.map(platformName).join(' or ')} (this is ${platform})`
  }
  if (!record.runtimes.includes(runtime)) return `${record.name} does not run on ${runtime}`
  return undefined
}

const CAPABILITY_WORDS: Record<Capability, string> = {
  sendFile: 'send a file from the page cache',
  tls: 'terminate TLS',
  adoptFd: 'adopt a listening socket',
  parksInNodeLoop: "wait inside Node's loop",
  rawSockets: 'drive sockets with system calls',
}

/** Why `record` cannot do what is needed, or undefined when it can. */
function lacks(record: BackendRecord, needs: BackendNeeds): string | undefined {
  for (const capability of Object.keys(needs) as Capability[]) {
    if (!record.capabilities[capability]) return `${record.name} cannot ${CAPABILITY_WORDS[capability]}, which ${needs[capability]} needs`
  }
  return undefined
}

function platformName(platform: NodeJS.Platform): string {
  return platform === 'linux' ? 'Linux' : platform === 'darwin' ? 'macOS' : platform === 'win32' ? 'Windows' : platform
}

/** The runtime this code runs on. */
export function runtimeName(): Runtime {
  const versions = process.versions as NodeJS.ProcessVersions & { bun?: string; deno?: string }
  return versions.bun !== undefined ? 'bun' : versions.deno !== undefined ? 'deno' : 'node'
}
