export { Channel, channelBytes, ChannelTimeoutError, openChannel, PeerGoneError, type ChannelOptions } from './channel.ts'
export { Ring, ringBytes } from './ring.ts'
