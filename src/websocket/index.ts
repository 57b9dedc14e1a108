export type { WebSocketLimits } from './websocket-protocol.ts'
export { CloseCode } from './frames.ts'
export type { ServerWebSocket, WebSocketData, WebSocketHandler, WebSocketMessage } from './types.ts'
