/*
 * `listenSpecOf()`: where `serve()` listens, as one ListenSpec (src/tcp/types.ts). This is the only place
 * that reads the address options of `serve()`; listenHttp(), listen() and each serving worker's setup then
 * pass the spec on whole (a structured-cloneable value: it crosses to a worker thread as it is), so a new
 * listening option (TLS, the PROXY protocol, a Unix socket, an inherited socket) is one field of the spec and
 * one line here.
 */
import type { ListenSpec, TcpAddress } from '../tcp/types.ts'
import type { ServeOptions } from './types.ts'

/** serve()'s port when none is given. */
export const SERVE_PORT_DEFAULT = 5001

/** A spec on TCP (serve() listens on TCP only until issue 39). */
export type TcpListenSpec = ListenSpec & TcpAddress

/**
 * The ListenSpec of `options`: host (default 127.0.0.1) and port (default 5001), reusePort (always with
 * `workers`: every worker shares the port), and the backend.
 * @example
 * listenSpecOf({ port: 0, handler }) // { host: '127.0.0.1', port: 0, reusePort: false, backend: undefined }
 */
export function listenSpecOf(options: Pick<ServeOptions<unknown>, 'host' | 'port' | 'reusePort' | 'backend' | 'workers'>): TcpListenSpec {
  return {
    host: options.host ?? '127.0.0.1',
    port: options.port ?? SERVE_PORT_DEFAULT,
    reusePort: options.workers !== undefined || options.reusePort === true,
    backend: options.backend,
  }
}
