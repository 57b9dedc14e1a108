/*
 * Hello, World over wirespeed: GET / answers 200 text/plain "Hello, World!".
 * Listens on 127.0.0.1 and $PORT (default 5001); SIGINT or SIGTERM closes it gracefully.
 *   npx node examples/hello.ts        (npx picks the pinned Node 26)
 */
import { serve } from '../src/index.ts'

const server = await serve({
  host: '127.0.0.1',
  port: Number(process.env.PORT ?? 5001),
  handler(request, response) {
    if (request.path === '/') response.send('Hello, World!')
    else response.status(404).send('Not Found\n')
  },
})
console.log(`Listening on ${server.url}`)

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, async () => {
    await server.close()
    process.exit(0)
  })
}
