/*
 * Stages before open: a chain that a listener's connections pass through on raw bytes before
 * `handlers.open`, the way h2o's `h2o_accept()` runs the PROXY line, then the TLS handshake, then HTTP
 * (uSockets calls its hook `on_pre_open`). Each stage reads what has arrived and either waits for more,
 * or is done, having consumed a prefix: the rest goes to the next stage, and after the last to the
 * protocol, in the same read (so what it writes leaves in the same batch). A stage may set the peer's
 * address (a PROXY header names the client behind the balancer) or end the connection (a header that is
 * malformed, a peer not trusted); then nothing after it, and no protocol, ever sees the connection.
 *
 * Bounds (src/limits.ts): the whole chain must be done within `stageTimeoutMs` of the accept, and the
 * stages may take at most `stageBytesMax` bytes (consumed, or held while a stage waits for more). Past
 * either the connection is destroyed, unopened.
 *
 * Cost: a listener without stages gives its connections the protocol's handlers at accept, as before
 * stages existed: one check per accepted connection, nothing on the data path. A listener with stages
 * gives them `stagingHandlers` (one object for every connection; the per-connection progress lives in
 * `connection.data`, which is nobody's until open), and swaps in the protocol's handlers at open.
 *
 *   accept ─▶ stagingHandlers.data ─▶ stage 0 ─▶ stage 1 ─▶ … ─▶ handlers.open, handlers.data(rest)
 *              (Staging in connection.data)       (done: consumed n)      (protocol's handlers from here on)
 *
 * A stage that stays in the path after open (TLS: it decrypts every later read and encrypts every write) is
 * not a stage of this chain but a transform of the connection itself; docs/architecture.md says where it
 * goes. This file implements only the chain before open.
 */
import type { Connection, Handlers, Stage, StageConnection } from './types.ts'

export type { Stage, StageConnection } from './types.ts'

/** A stage's answer when it needs more bytes before it can decide. */
export const STAGE_MORE = -1

/** A listener's chain, resolved once: undefined when the chain is empty. */
export interface Stages<Data = unknown> {
  readonly list: readonly Stage[]
  /** The protocol's handlers, given the connection at open. */
  readonly handlers: Handlers<Data>
  readonly timeoutMs: number
  readonly bytesMax: number
}

/** What the backend's connection class offers the chain (ConnectionCore). */
export interface StagedConnection<Data = unknown> extends Connection<Data>, StageConnection {
  /** Replaces the handlers every later event goes to. @internal */
  setHandlers(handlers: Handlers<Data>): void
}

/** A connection's progress through the chain, in its `data` until open. */
class Staging {
  readonly stages: Stages<any>
  index = 0
  /** Bytes the current stage has been shown and has not consumed (it waits for more). */
  held: Buffer | undefined = undefined
  /** Bytes consumed by the stages done (with what the current one holds, held to `bytesMax`). */
  taken = 0
  readonly timer: NodeJS.Timeout
  constructor(stages: Stages<any>, connection: StagedConnection<any>) {
    this.stages = stages
    this.timer = setTimeout(onDeadline, stages.timeoutMs, connection)
  }
}

/** Starts `connection` (made with `stagingHandlers`) through the chain; `handlers.open` runs at its end. */
export function startStages<Data>(connection: StagedConnection<Data>, stages: Stages<Data>): void {
  ;(connection as StagedConnection<unknown>).data = new Staging(stages, connection as StagedConnection<any>)
}

/** The handlers of every connection still in its stages: one object, the progress in `connection.data`. */
export const stagingHandlers: Handlers<any> = {
  data(connection, bytes) {
    advance(connection as StagedConnection<Staging>, bytes)
  },
  end(connection) {
    // The peer finished before the stages did: there is nothing to open.
    connection.destroy()
  },
  close(connection) {
    clearTimeout((connection.data as Staging).timer)
  },
  timeout(connection) {
    connection.destroy()
  },
}

function advance(connection: StagedConnection<Staging>, arrived: Buffer): void {
  // A stage ended the connection: what the peer sends until its FIN goes nowhere.
  if (connection.ending) return
  const staging = connection.data
  const { list, bytesMax } = staging.stages
  let bytes = staging.held === undefined ? arrived : Buffer.concat([staging.held, arrived])
  staging.held = undefined
  while (staging.index < list.length) {
    const consumed = list[staging.index]!.take(bytes, connection)
    if (connection.closed || connection.ending) return clearTimeout(staging.timer)
    if (consumed === STAGE_MORE) {
      if (staging.taken + bytes.length > bytesMax) return refuse(connection, staging)
      staging.held = bytes
      return
    }
    staging.taken += consumed
    if (staging.taken > bytesMax) return refuse(connection, staging)
    bytes = bytes.subarray(consumed)
    staging.index++
  }
  open(connection, staging, bytes)
}

function open(connection: StagedConnection<Staging>, staging: Staging, rest: Buffer): void {
  clearTimeout(staging.timer)
  const handlers = staging.stages.handlers
  const opened = connection as StagedConnection<unknown>
  opened.setHandlers(handlers)
  opened.data = undefined
  handlers.open?.(opened)
  if (rest.length > 0 && !opened.closed) handlers.data(opened, rest)
}

/** Past stageBytesMax: closed, unopened. */
function refuse(connection: StagedConnection<Staging>, staging: Staging): void {
  clearTimeout(staging.timer)
  connection.destroy()
}

function onDeadline(connection: StagedConnection<Staging>): void {
  connection.destroy()
}
