export { HttpError, WirespeedError } from './errors.ts'
export { defaultLimits, resolveLimits, type Limits } from './limits.ts'
export { Connection, connect, listen, type ConnectOptions, type Handlers, type ListenOptions, type Listener } from './tcp/index.ts'
export { Request, Response, serve, type Handler, type ServeOptions, type Server } from './http/index.ts'
