export { ServerWebSocket, type WebSocketLimits } from './server-websocket.ts'
export { WebSocketServer } from './websocket-server.ts'
export { CloseCode } from './frames.ts'
export type { WebSocketData, WebSocketHandler, WebSocketMessage } from './types.ts'
