export { channelBytes, RingChannel } from './channel.ts'
export { openChannel } from './open-channel.ts'
export { Ring, ringBytes } from './ring.ts'
export type { Channel, ChannelOptions, ProcessChannelOptions, TcpChannelOptions, ThreadChannelOptions, ThreadPeerChannelOptions } from './types.ts'
