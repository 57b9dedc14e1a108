export type { WebSocketLimits } from './websocket-protocol.ts'
export { WebSocketServer } from './websocket-server.ts'
export { CloseCode } from './frames.ts'
export type { ServerWebSocket, WebSocketData, WebSocketHandler, WebSocketMessage } from './types.ts'
