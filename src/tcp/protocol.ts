/*
 * The seam between a connection and the protocol spoken on it. With `protocolHandlers()`, a connection's
 * `data` is a Protocol and every event goes to it, so one server can speak several protocols over its life:
 * HTTP/1.1 first, and after an upgrade whatever the upgrade names (WebSocket), the way uWebSockets' upgrade
 * handler hands its socket on. `handOff()` replaces the protocol and gives the next one the bytes already
 * read and not consumed, in order, before anything read later.
 */
import type { Connection, Handlers, Protocol } from './types.ts'

/**
 * Handlers whose `open` makes the connection's first protocol with `start`, and which give every later
 * event to whatever protocol `connection.data` is then.
 * @example
 * listen({ port: 0, handlers: protocolHandlers((connection) => new LineProtocol(connection)) })
 */
export function protocolHandlers(start: (connection: Connection<Protocol>) => Protocol): Handlers<Protocol> {
  return {
    open(connection) {
      connection.data = start(connection)
    },
    data(connection, bytes) {
      connection.data.onData(bytes)
    },
    drain(connection) {
      connection.data.onDrain()
    },
    end(connection) {
      connection.data.onEnd()
    },
    close(connection, error) {
      connection.data.onClose(error)
    },
    error() {
      // ECONNRESET and the like: `close` follows, with the error, and the protocol cleans up there.
    },
  }
}

/**
 * Hands `connection` to the protocol `next`: from now on every event goes to it, starting with `unread`
 * (bytes the previous protocol read and did not consume), delivered at once.
 */
export function handOff(connection: Connection<Protocol>, next: Protocol, unread?: Uint8Array): void {
  connection.data = next
  if (unread !== undefined && unread.length > 0) next.onData(Buffer.isBuffer(unread) ? unread : Buffer.from(unread.buffer, unread.byteOffset, unread.length))
}
