/*
 * A server's WebSocket side: the `websocket` handlers checked and their limits resolved once, at start; the
 * Upgrader the HTTP layer calls for `response.upgrade()` (and the fetch mode for `server.upgrade()`); and
 * the server's topics for `publish()`.
 */
import type { Request } from '../http/request.ts'
import type { Response, UpgradeOptions, Upgrader } from '../http/response.ts'
import { checkOptionNames, limitOrDefault, webSocketLimitSpecs } from '../limits.ts'
import { bytesOf } from './frames.ts'
import { asksForWebSocket, handshake, type HandshakePolicy } from './handshake.ts'
import { WebSocketProtocol, type SocketContext, type WebSocketLimits } from './websocket-protocol.ts'
import { Topics } from './topics.ts'
import type { WebSocketData, WebSocketHandler } from './types.ts'

/** Every key of WebSocketHandler; `satisfies` keeps the list equal to the interface. */
const handlerNames = Object.keys({
  open: true, message: true, close: true, drain: true, ping: true, pong: true, perMessageDeflate: true, protocols: true, origin: true, sendPings: true,
  messageBytesMax: true, frameBytesMax: true, backpressureBytesMax: true, idleTimeoutMs: true, closeTimeoutMs: true, compressBytesMin: true,
} as const satisfies Record<keyof WebSocketHandler, true>)

/** The WebSocket half of one server (one per worker). @internal */
export class WebSocketServer {
  readonly limits: WebSocketLimits
  readonly upgrader: Upgrader
  readonly #topics: Topics

  constructor(handler: WebSocketHandler<any>, sendTimeoutMs: number, onError: (error: unknown) => void) {
    if (typeof handler !== 'object' || handler === null || typeof handler.message !== 'function') {
      throw new TypeError('Invalid option websocket: expected an object with a message(ws, message) handler')
    }
    checkOptionNames('websocket', handler, handlerNames)
    for (const name of ['open', 'close', 'drain', 'ping', 'pong', 'origin'] as const) {
      if (handler[name] !== undefined && typeof handler[name] !== 'function') throw new TypeError(`Invalid option websocket.${name}: expected a function`)
    }
    const protocols = handler.protocols
    if (protocols !== undefined && typeof protocols !== 'function' && !(Array.isArray(protocols) && protocols.every((each) => typeof each === 'string'))) {
      throw new TypeError('Invalid option websocket.protocols: expected an array of subprotocol names, or a function that picks one')
    }
    const limit = (name: keyof typeof webSocketLimitSpecs) => limitOrDefault(`websocket.${name}`, handler[name], webSocketLimitSpecs[name])
    this.limits = {
      messageBytesMax: limit('messageBytesMax'),
      frameBytesMax: limit('frameBytesMax'),
      backpressureBytesMax: limit('backpressureBytesMax'),
      idleTimeoutMs: limit('idleTimeoutMs'),
      closeTimeoutMs: limit('closeTimeoutMs'),
      compressBytesMin: limit('compressBytesMin'),
    }
    this.#topics = new Topics(this.limits.compressBytesMin)
    const context: SocketContext = { handler, limits: this.limits, sendPings: handler.sendPings !== false, sendTimeoutMs, topics: this.#topics, onError }
    const policy: HandshakePolicy = { protocols, origin: handler.origin, perMessageDeflate: handler.perMessageDeflate === true }
    this.upgrader = (request, response, options) => upgrade(request, response, options, policy, context)
  }

  /** The shortest of the sockets' timeouts: the server's sweep runs often enough for it. */
  get shortestTimeoutMs(): number {
    const idle = this.limits.idleTimeoutMs
    return Math.min(this.limits.closeTimeoutMs, idle === 0 ? Infinity : idle / 2)
  }

  /**
   * Sends a message to every socket subscribed to `topic`, framed (and compressed) once.
   * @returns the number of sockets it was queued for
   */
  publish(topic: string, data: WebSocketData, compress = true): number {
    return this.#topics.publish(topic, bytesOf(data), compress, undefined)
  }

  /** Sockets subscribed to `topic`. */
  subscriberCount(topic: string): number {
    return this.#topics.count(topic)
  }

  /**
   * Calls `listener` with a topic and its new number of subscribers each time that number changes (a
   * serving worker reports them to the main thread). One listener; a second call replaces it.
   */
  onSubscriberCount(listener: (topic: string, count: number) => void): void {
    this.#topics.onCount = listener
  }
}

function upgrade(request: Request, response: Response, options: UpgradeOptions | undefined, policy: HandshakePolicy, context: SocketContext): boolean {
  if (!asksForWebSocket(request)) return false
  const headers = options?.headers
  const extra = headers === undefined ? [] : Array.isArray(headers) ? headers : Object.entries(headers)
  const result = handshake(request, policy, extra)
  if (!('head' in result)) {
    for (const [name, value] of result.headers) response.setHeader(name, value)
    response.status(result.status).send(`${result.message}\n`)
    return false
  }
  const data = options?.data
  const bits = result.deflate?.windowBits ?? 0
  return response.switchProtocols(result.head, (connection) => {
    const ws = new WebSocketProtocol(connection, context, data, result.protocol, result.extensions, bits, Date.now())
    ws.opened()
    return ws
  })
}
