/*
 * fetchHandler(): a web-standard `fetch(Request) → Response` as a wirespeed Handler. The Request is a
 * WebRequest (lazy, ./web-request.ts) and the Response is written by writeWebResponse() (./web-response.ts).
 * A throw, a rejection or a value that is not a Response reaches the connection as the handler's error:
 * onError, then 500.
 */
import type { Handler } from '../http/types.ts'
import type { FetchHandler, FetchServer, SocketAddress } from './types.ts'
import { WebRequest } from './web-request.ts'
import { writeWebResponse } from './web-response.ts'

/** The server a fetch handler gets; `url`, `hostname` and `port` are set once listening. @internal */
export class AppServer implements FetchServer {
  url = ''
  hostname = ''
  port = 0

  requestIP(request: globalThis.Request): SocketAddress | null {
    const native = WebRequest.nativeOf(request)
    const address = native?.remoteAddress
    const port = native?.remotePort
    if (address === undefined || port === undefined) return null
    return { address, family: address.includes(':') ? 'IPv6' : 'IPv4', port }
  }
}

/** @internal */
export function fetchHandler(fetch: FetchHandler, server: AppServer): Handler {
  return (request, response) => {
    const result = fetch(new WebRequest(request, server.url), server)
    if (result instanceof Promise) return result.then((web) => writeWebResponse(web, response))
    return writeWebResponse(result, response)
  }
}
