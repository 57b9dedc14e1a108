export { Router, type RouteMatch } from './router.ts'
export type { FetchHandler, FetchServer, RouteHandler, RouteMethod, RouteParams, Routes, RouteValue, SocketAddress } from './types.ts'
