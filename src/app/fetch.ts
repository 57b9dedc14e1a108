/*
 * fetchHandler(): a web-standard `fetch(Request) → Response` as a wirespeed Handler. The Request is a
 * WebRequest (lazy, ./web-request.ts) and the Response is written by writeWebResponse() (./web-response.ts).
 * A throw, a rejection or a value that is not a Response reaches the connection as the handler's error:
 * onError, then 500.
 */
import type { Response as NativeResponse, UpgradeOptions } from '../http/response.ts'
import type { Handler } from '../http/types.ts'
import type { WebSocketData } from '../websocket/types.ts'
import type { WebSocketServer } from '../websocket/websocket-server.ts'
import type { FetchHandler, FetchServer, SocketAddress, WebUpgradeOptions } from './types.ts'
import { WebRequest } from './web-request.ts'
import { writeWebResponse } from './web-response.ts'

/** The server a fetch handler gets; `url`, `hostname` and `port` are set once listening. @internal */
export class AppServer implements FetchServer {
  url = ''
  hostname = ''
  port = 0
  /** The server's WebSocket side, when it has `websocket` handlers. */
  websocket: WebSocketServer | undefined = undefined

  requestIP(request: globalThis.Request): SocketAddress | null {
    const native = WebRequest.nativeOf(request)
    const address = native?.remoteAddress
    const port = native?.remotePort
    if (address === undefined || port === undefined) return null
    return { address, family: address.includes(':') ? 'IPv6' : 'IPv4', port }
  }

  upgrade<Data>(request: globalThis.Request, options?: WebUpgradeOptions<Data>): boolean {
    const response = WebRequest.responseOf(request)
    if (response === undefined) return false
    const headers = options?.headers
    const native: UpgradeOptions = { data: options?.data, headers: headers === undefined || Array.isArray(headers) ? headers : headers instanceof Headers ? [...headers] : (headers as Record<string, string>) }
    return response.upgrade(native)
  }

  publish(topic: string, data: WebSocketData, compress?: boolean): number {
    return this.websocket?.publish(topic, data, compress) ?? 0
  }

  subscriberCount(topic: string): number {
    return this.websocket?.subscriberCount(topic) ?? 0
  }
}

/** @internal */
export function fetchHandler(fetch: FetchHandler, server: AppServer): Handler {
  return (request, response) => {
    const result = fetch(new WebRequest(request, server.url, response), server)
    if (result instanceof Promise) return result.then((web) => reply(web, response))
    return reply(result, response)
  }
}

/** Writes the handler's Response, unless `server.upgrade()` already answered (101, or its refusal). */
function reply(web: unknown, response: NativeResponse): void | Promise<void> {
  if (response.headersSent) return
  return writeWebResponse(web, response)
}
