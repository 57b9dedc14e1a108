// wirespeed's hello on every core: one worker thread per core (WORKERS, default auto), reusePort.
import { serve } from '../../src/index.ts'

const workers = process.env.WORKERS === undefined || process.env.WORKERS === 'auto' ? 'auto' : Number(process.env.WORKERS)
const server = await serve({
  port: Number(process.env.PORT ?? 5001),
  workers,
  handlerModule: new URL('./hello-handler.ts', import.meta.url),
  log: () => {},
})
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, async () => {
    await server.close()
    process.exit(0)
  })
}
