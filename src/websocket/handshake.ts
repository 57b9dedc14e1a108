/*
 * The opening handshake, server side (RFC 6455 §4.2): checks the client's upgrade request, picks a
 * subprotocol and permessage-deflate's parameters, and writes the 101 head.
 *
 * A request is a WebSocket upgrade when its `Upgrade` field names "websocket"; anything else is not ours
 * and gets no answer here. An upgrade asked wrongly gets the refusal RFC 6455 §4.2.1-4.2.2 calls for: 405
 * for a method other than GET, 426 with `Sec-WebSocket-Version: 13` for another version, 400 for the rest
 * (HTTP/1.0, no `Connection: upgrade`, a key that is not 16 bytes in base64), 403 when the origin check
 * says no.
 */
import { createHash } from 'node:crypto'
import type { Request } from '../http/request.ts'
import { HEADER_NAME, HEADER_VALUE_BAD } from '../http/response.ts'
import { negotiateDeflate, type DeflateAgreement } from './deflate.ts'

/** RFC 6455 §1.3. */
const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'
/** 16 bytes in base64: 22 characters and "==" (RFC 6455 §4.1 item 7). */
const KEY = /^[A-Za-z0-9+/]{21}[AQgw]==$/
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

/** What decides a handshake: the server's subprotocols, its origin check, and whether it compresses. */
export interface HandshakePolicy {
  readonly protocols: readonly string[] | ((offered: string[], request: Request) => string | undefined) | undefined
  readonly origin: ((origin: string | undefined, request: Request) => boolean) | undefined
  readonly perMessageDeflate: boolean
}

/** An accepted handshake. */
export interface Accepted {
  readonly head: string
  readonly protocol: string
  readonly extensions: string
  readonly deflate: DeflateAgreement | null
}

/** A refused one: the status, why, and the field lines its reply needs. */
export interface Refused {
  readonly status: number
  readonly message: string
  readonly headers: [string, string][]
}

/** True when `request` asks for a WebSocket (its Upgrade field names "websocket", RFC 6455 §4.2.1 item 3). */
export function asksForWebSocket(request: Request): boolean {
  if (!request.wantsUpgrade) return false
  const upgrade = request.header('upgrade')
  return upgrade !== undefined && hasToken(upgrade, 'websocket')
}

/** Checks a WebSocket upgrade request and makes the 101 head, with `extra` field lines of the caller's. */
export function handshake(request: Request, policy: HandshakePolicy, extra: [string, string][]): Accepted | Refused {
  if (request.method !== 'GET') return { status: 405, message: `A WebSocket handshake is a GET request, not ${request.method}`, headers: [['Allow', 'GET']] }
  if (request.versionMinor !== 1) return refused(400, 'A WebSocket handshake needs HTTP/1.1')
  if (request.hasBody) return refused(400, 'A WebSocket handshake has no body')
  const version = request.header('sec-websocket-version')
  if (version !== '13') {
    return { status: 426, message: `Unsupported Sec-WebSocket-Version ${version === undefined ? '(none)' : JSON.stringify(version)}: expected 13`, headers: [['Sec-WebSocket-Version', '13']] }
  }
  const key = request.header('sec-websocket-key')
  if (key === undefined || !KEY.test(key)) return refused(400, 'Invalid Sec-WebSocket-Key: expected 16 bytes in base64')
  if (policy.origin !== undefined && !policy.origin(request.header('origin'), request)) return refused(403, 'Origin not allowed')
  const protocol = chooseProtocol(request, policy)
  const deflate = policy.perMessageDeflate ? negotiateDeflate(request.header('sec-websocket-extensions')) : null
  let head = `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptKey(key)}\r\n`
  if (protocol !== '') head += `Sec-WebSocket-Protocol: ${protocol}\r\n`
  if (deflate !== null) head += `Sec-WebSocket-Extensions: ${deflate.response}\r\n`
  for (const [name, value] of extra) {
    if (!HEADER_NAME.test(name) || HEADER_VALUE_BAD.test(String(value))) throw new TypeError(`Invalid upgrade header ${JSON.stringify(name)}: expected a token name and a value without CR, LF or NUL`)
    head += `${name}: ${value}\r\n`
  }
  return { head: `${head}\r\n`, protocol, extensions: deflate?.response ?? '', deflate }
}

/** Sec-WebSocket-Accept: base64 of SHA-1 over the key and the GUID (RFC 6455 §4.2.2 item 5.4). */
export function acceptKey(key: string): string {
  return createHash('sha1').update(key + GUID).digest('base64')
}

function refused(status: number, message: string): Refused {
  return { status, message, headers: [] }
}

/** The server's pick among the client's subprotocols (RFC 6455 §4.2.2 item 5.5), '' for none. */
function chooseProtocol(request: Request, policy: HandshakePolicy): string {
  const field = request.header('sec-websocket-protocol')
  if (field === undefined || policy.protocols === undefined) return ''
  const offered = field.split(',').map((each) => each.trim()).filter((each) => TOKEN.test(each))
  if (typeof policy.protocols === 'function') {
    const chosen = policy.protocols(offered, request)
    return chosen !== undefined && offered.includes(chosen) ? chosen : ''
  }
  // The client lists its protocols in its order of preference; the first one the server speaks wins.
  const spoken = policy.protocols
  return offered.find((each) => spoken.includes(each)) ?? ''
}

function hasToken(list: string, token: string): boolean {
  for (const each of list.split(',')) if (each.trim().toLowerCase() === token) return true
  return false
}
