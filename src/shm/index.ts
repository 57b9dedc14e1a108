export { Channel, channelBytes, openChannel, type ChannelOptions } from './channel.ts'
export { Ring, ringBytes } from './ring.ts'
