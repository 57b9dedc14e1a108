/*
 * recorder(): handlers for a listener test that echo every read ("echo " + bytes) and record what the
 * protocol saw, in order: `open address:port` (the peer as a stage before open may have set it), then
 * `data bytes` for each read. Used by the stage-chain and PROXY-stage tests.
 */
import type { Handlers } from '../../src/index.ts'

/** Handlers that echo and record what the protocol saw. */
export function recorder(): { events: string[]; handlers: Handlers } {
  const events: string[] = []
  const handlers: Handlers = {
    open(connection) { events.push(`open ${connection.remoteAddress}:${connection.remotePort}`) },
    data(connection, bytes) { events.push(`data ${bytes}`); connection.write(`echo ${bytes}`) },
  }
  return { events, handlers }
}
