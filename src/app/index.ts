export { Router, type RouteMatch } from './router.ts'
export type { FetchHandler, FetchServer, RouteHandler, RouteMethod, RouteParams, Routes, RouteValue, SocketAddress, WebUpgradeOptions } from './types.ts'
