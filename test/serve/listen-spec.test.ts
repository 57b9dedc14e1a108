/*
 * listenSpecOf() (src/serve/listen-spec.ts): serve()'s address options become one ListenSpec, a value that
 * crosses to a worker thread whole.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { listenSpecOf, SERVE_PORT_DEFAULT } from '../../src/serve/listen-spec.ts'

test('listenSpecOf() fills the defaults: 127.0.0.1, port 5001, no reusePort on one loop', () => {
  assert.deepEqual(listenSpecOf({}), { host: '127.0.0.1', port: SERVE_PORT_DEFAULT, reusePort: false, backend: undefined })
  assert.equal(SERVE_PORT_DEFAULT, 5001)
})

test('listenSpecOf() keeps what is given, and with workers every loop shares the port', () => {
  assert.deepEqual(listenSpecOf({ host: '::1', port: 0, reusePort: true, backend: 'node' }), { host: '::1', port: 0, reusePort: true, backend: 'node' })
  assert.equal(listenSpecOf({ workers: 2 }).reusePort, true)
})

test('a ListenSpec survives structured cloning whole (it is what a serving worker is given)', () => {
  const spec = listenSpecOf({ host: '0.0.0.0', port: 8080, workers: 'auto', backend: 'epoll' })
  assert.deepEqual(structuredClone(spec), spec)
})
