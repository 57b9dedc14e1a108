// The Bun contender: Bun.serve answering like examples/hello.ts (200 text/plain "Hello, World!").
// Plain JavaScript, so that the project's TypeScript check does not need Bun's types.
const server = Bun.serve({
  hostname: '127.0.0.1',
  port: Number(process.env.PORT ?? 5001),
  fetch(request) {
    if (new URL(request.url).pathname === '/') {
      return new Response('Hello, World!', { headers: { 'Content-Type': 'text/plain; charset=utf-8' } })
    }
    return new Response('Not Found\n', { status: 404 })
  },
})
process.on('SIGTERM', () => {
  server.stop()
  process.exit(0)
})
