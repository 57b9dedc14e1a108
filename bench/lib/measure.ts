/*
 * What every whole-server benchmark needs: start a contender pinned to a core, wait for its port, check its
 * answer, read its CPU time from /proc, run a load generator pinned to the other core, and take medians.
 */
import { execFileSync, spawnSync, type ChildProcess } from 'node:child_process'
import { spawn } from './children.ts'
import { readFileSync } from 'node:fs'
import { connect } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { buildC, cCompiler, which } from '../../src/cli/build-c.ts'
import { median } from '../../src/cli/median.ts'

// Shared with `wirespeed shm client`, which lives in src (shipped): building the C references, and medians.
export { buildC, median, which }

export const SERVER_CORE = '0'
export const LOAD_CORE = '1'

const taskset = which('taskset')

/** The command line that runs `argv` pinned to `core` (unpinned where taskset is missing). */
export function pinned(core: string, argv: string[]): string[] {
  return taskset ? [taskset, '-c', core, ...argv] : argv
}

/** Starts a server process on `cores` (a taskset list); its PID is the program's own (taskset execs it). */
export function startServer(argv: string[], env: Record<string, string> = {}, cores = SERVER_CORE): ChildProcess {
  const [command, ...args] = pinned(cores, argv)
  const child = spawn(command!, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] })
  let errors = ''
  child.stderr!.on('data', (bytes: Buffer) => (errors = (errors + bytes.toString()).slice(-2000)))
  child.on('exit', (code) => {
    if (code && code !== 0 && errors) process.stderr.write(`bench: ${argv.join(' ')} exited with ${code}: ${errors}\n`)
  })
  return child
}

/** Stops a server we started, by its PID, and waits for it to exit (SIGKILL after 5 s). */
export async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
  await exited
  clearTimeout(timer)
}

/** Waits until 127.0.0.1:port accepts connections (bounded). */
export async function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port }, () => (socket.destroy(), resolve(true)))
      socket.on('error', () => resolve(false))
    })
    if (open) return
    if (Date.now() > deadline) throw new Error(`Nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`)
    await sleep(50)
  }
}

/** Sends one GET and returns the status and body (a raw socket: no client library in the way). */
export async function getOnce(port: number, path = '/', body?: string): Promise<{ status: number; body: string; head: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port })
    let received = ''
    const timer = setTimeout(() => (socket.destroy(), reject(new Error(`No answer from 127.0.0.1:${port}`))), 5000)
    const request = body === undefined
      ? `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`
      : `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
    socket.on('connect', () => socket.write(request))
    const done = () => {
      clearTimeout(timer)
      const headEnd = received.indexOf('\r\n\r\n')
      const head = received.slice(0, headEnd)
      resolve({ status: Number(head.slice(9, 12)), body: received.slice(headEnd + 4), head })
    }
    socket.on('data', (bytes: Buffer) => {
      received += bytes.toString('latin1')
      // A reply with a Content-Length is complete when its body is: a server that ignores Connection: close
      // (the C floor, which parses nothing) is not waited for.
      const headEnd = received.indexOf('\r\n\r\n')
      const length = /\r\ncontent-length: *(\d+)/i.exec(received.slice(0, headEnd))?.[1]
      if (headEnd >= 0 && length !== undefined && received.length >= headEnd + 4 + Number(length)) {
        socket.destroy()
        done()
      }
    })
    socket.on('error', (error) => (clearTimeout(timer), reject(error)))
    socket.on('close', done)
  })
}

const ticksPerSecond = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
  } catch {
    return 100
  }
})()

/** User + system CPU seconds a process has used so far (Linux /proc; undefined elsewhere). */
export function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond
  } catch {
    return undefined
  }
}

/** One line about this machine, the runtimes and the pinning, for the top of every results file. */
export function machineLines(tools: Record<string, string | undefined>): string[] {
  const cpu = /model name\s*:\s*(.*)/.exec(safeRead('/proc/cpuinfo'))?.[1] ?? 'unknown CPU'
  const cores = (safeRead('/proc/cpuinfo').match(/^processor/gm) ?? []).length
  const kernel = safeRead('/proc/sys/kernel/osrelease').trim()
  const lines = [
    `- Machine: ${cpu}, ${cores} cores, Linux ${kernel}`,
    `- Node ${process.version}` + Object.entries(tools).filter(([, version]) => version).map(([name, version]) => `, ${name} ${version}`).join(''),
    taskset ? `- Pinning: servers on core ${SERVER_CORE}, load generator on core ${LOAD_CORE} (taskset)` : '- Pinning: none (taskset not found)',
  ]
  return lines
}

function safeRead(path: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return ''
  }
}

/** A tool's version, read from what `argv` prints on either stream (nginx -v writes to stderr). */
export function toolVersion(argv: string[], pattern: RegExp): string | undefined {
  const result = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: 5000 })
  return pattern.exec(`${result.stdout ?? ''}${result.stderr ?? ''}`)?.[1]
}

/** The machine's C compiler, if any (for the C references). */
export const cc = cCompiler()
