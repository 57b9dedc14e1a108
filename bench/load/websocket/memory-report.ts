// On SIGUSR2: collect garbage (run with --expose-gc; Bun.gc under Bun), then print this process's memory as
// one JSON line on stdout. The WebSocket bench reads it before and after opening 10,000 idle sockets.
const bun = (globalThis as { Bun?: { gc(force: boolean): void } }).Bun

export function reportMemoryOnSignal(): void {
  process.on('SIGUSR2', () => {
    if (bun !== undefined) bun.gc(true)
    else (globalThis as { gc?: () => void }).gc?.()
    const memory = process.memoryUsage()
    process.stdout.write(`${JSON.stringify({ rss: memory.rss, heap: memory.heapUsed, external: memory.external })}\n`)
  })
}
