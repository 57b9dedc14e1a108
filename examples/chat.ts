/*
 * A chat room over WebSocket: GET / is a page that opens ws://…/chat; every message a browser sends is
 * published to everyone in the room (pub/sub: framed and compressed once, whatever the room's size).
 * Listens on 127.0.0.1 and $PORT (default 5001); SIGINT or SIGTERM closes it gracefully (1001 to each socket).
 *   npx node examples/chat.ts        then open http://127.0.0.1:5001/ in two tabs
 */
import { serve } from '../src/index.ts'

const PAGE = `<!doctype html><meta charset="utf-8"><title>wirespeed chat</title>
<form id="form"><input id="text" autocomplete="off" placeholder="Say something"> <button>Send</button></form>
<ul id="log"></ul>
<script>
  const ws = new WebSocket('ws://' + location.host + '/chat?name=' + encodeURIComponent(prompt('Your name?') || 'someone'))
  ws.onmessage = (event) => { const item = document.createElement('li'); item.textContent = event.data; log.prepend(item) }
  form.onsubmit = (event) => { event.preventDefault(); ws.send(text.value); text.value = '' }
</script>`

const server = await serve({
  host: '127.0.0.1',
  port: Number(process.env.PORT ?? 5001),
  routes: {
    '/': new Response(PAGE, { headers: { 'Content-Type': 'text/html; charset=utf-8' } }),
    'GET /chat': (request, response) => {
      const name = new URLSearchParams(request.query).get('name')?.slice(0, 40) || 'someone'
      if (!response.upgrade({ data: { name } })) response.status(426).send('This address speaks WebSocket\n')
    },
  },
  websocket: {
    perMessageDeflate: true,
    messageBytesMax: 4096,
    open(ws) {
      ws.subscribe('room')
      server.publish('room', `${ws.data.name} joined`)
    },
    message(ws, message) {
      server.publish('room', `${ws.data.name}: ${String(message)}`)
    },
    close(ws) {
      server.publish('room', `${ws.data.name} left`)
    },
  },
})
console.log(`Chat on ${server.url}`)

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, async () => {
    await server.close()
    process.exit(0)
  })
}
