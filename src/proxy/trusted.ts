/*
 * A list of trusted peers ("127.0.0.1", "10.0.0.0/8", "fd00::/8", "loopback"), parsed once into a matcher
 * that answers "is this socket address one of them?" with integer compares.
 *
 * Both the PROXY protocol's `trusted` option and `trustProxy` use it: a peer outside the list may not tell
 * us who the client is. Entries are an address (a /32 or /128), a CIDR block, an IPv4 address with a
 * netmask ("10.0.0.0/255.0.0.0", as proxy-addr accepts), or a preset name (proxy-addr's: `loopback`,
 * `linklocal`, `uniquelocal`). An IPv4-mapped IPv6 entry ("::ffff:10.0.0.0/104") is stored as the IPv4
 * block it maps, and an IPv4-mapped peer ("::ffff:10.0.0.1", what a dual-stack listener reports) is
 * matched as IPv4, so one rule covers a peer however its socket names it. A bad entry is a TypeError at
 * start-up naming the entry and the option; nothing is guessed.
 *
 * Worst case per check: parsing the peer's text (at most 45 characters, and a peer address comes from the
 * kernel, not the network) and one masked compare per rule of its family.
 */
import { parseIp, parseIpv4 } from './ip-address.ts'

/** proxy-addr's preset names and the blocks they stand for. */
export const trustedPresets = {
  loopback: ['127.0.0.1/8', '::1/128'],
  linklocal: ['169.254.0.0/16', 'fe80::/10'],
  uniquelocal: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'],
} as const

/** Tells whether a peer's address is in a trusted list. */
export type AddressMatcher = (address: string | undefined) => boolean

/**
 * Parses `entries` once into a matcher.
 * @param optionName the option the entries came from, for error messages
 * @example
 * const trusted = compileTrusted(['loopback', '10.0.0.0/8'])
 * trusted('10.1.2.3') // true
 * trusted('::ffff:127.0.0.1') // true
 */
export function compileTrusted(entries: readonly string[] | string, optionName = 'trusted'): AddressMatcher {
  const list = typeof entries === 'string' ? entries.split(',').map((entry) => entry.trim()) : entries
  if (!Array.isArray(list)) throw new TypeError(`Invalid option ${optionName}: expected an array of addresses and CIDR blocks, got ${typeof entries}`)
  // IPv4 rules as (network, mask) pairs; IPv6 rules as 4 network words then 4 mask words.
  const v4: number[] = []
  const v6: number[] = []
  for (const entry of list) {
    if (typeof entry !== 'string') throw new TypeError(`Invalid option ${optionName}: expected each entry to be a string, got ${typeof entry}`)
    const preset = (trustedPresets as Record<string, readonly string[]>)[entry]
    for (const block of preset ?? [entry]) addBlock(block, entry, optionName, v4, v6)
  }
  const v4Rules = Uint32Array.from(v4)
  const v6Rules = Uint32Array.from(v6)
  return (address) => {
    if (address === undefined) return false
    const ip = parseIp(address, true)
    if (ip === undefined) return false
    if (ip.family === 4) {
      for (let i = 0; i < v4Rules.length; i += 2) if (((ip.value & v4Rules[i + 1]!) >>> 0) === v4Rules[i]) return true
      return false
    }
    const w = ip.words
    for (let i = 0; i < v6Rules.length; i += 8) {
      if (((w[0] & v6Rules[i + 4]!) >>> 0) === v6Rules[i] && ((w[1] & v6Rules[i + 5]!) >>> 0) === v6Rules[i + 1]
        && ((w[2] & v6Rules[i + 6]!) >>> 0) === v6Rules[i + 2] && ((w[3] & v6Rules[i + 7]!) >>> 0) === v6Rules[i + 3]) return true
    }
    return false
  }
}

function addBlock(block: string, entry: string, optionName: string, v4: number[], v6: number[]): void {
  const bad = (why: string): TypeError => new TypeError(`Invalid option ${optionName}: "${entry}" is not an IP address, CIDR block or preset (${why})`)
  const slash = block.indexOf('/')
  const ip = parseIp(slash === -1 ? block : block.slice(0, slash))
  if (ip === undefined) throw bad('expected an IPv4 or IPv6 address before the "/"')
  const mapped = ip.family === 4 && parseIpv4(slash === -1 ? block : block.slice(0, slash)) === undefined
  const bitsMax = ip.family === 4 ? 32 : 128
  let bits = ip.family === 4 ? 32 : 128
  if (slash !== -1) {
    const suffix = block.slice(slash + 1)
    if (/^(0|[1-9][0-9]{0,2})$/.test(suffix)) {
      bits = Number(suffix)
      // "::ffff:10.0.0.0/104" is 10.0.0.0/8: the mapped block's prefix counts the 96 bits before the IPv4 ones.
      if (mapped) {
        if (bits < 96 || bits > 128) throw bad(`expected a prefix from 96 to 128 on an IPv4-mapped address, got ${bits}`)
        bits -= 96
      } else if (bits > bitsMax) throw bad(`expected a prefix from 0 to ${bitsMax}, got ${bits}`)
    } else {
      const mask = ip.family === 4 && !mapped ? parseIpv4(suffix) : undefined
      if (mask === undefined) throw bad(`expected a prefix length${ip.family === 4 ? ' or a netmask' : ''} after the "/", got "${suffix}"`)
      bits = Math.clz32(~mask)
      if (bits < 32 && ((mask << bits) >>> 0) !== 0) throw bad(`a netmask's ones must come first, got ${suffix}`)
    }
  }
  if (ip.family === 4) {
    const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0
    v4.push((ip.value & mask) >>> 0, mask)
    return
  }
  const masks: number[] = []
  for (let word = 0; word < 4; word++) {
    const inWord = Math.max(0, Math.min(32, bits - word * 32))
    masks.push(inWord === 0 ? 0 : (0xffffffff << (32 - inWord)) >>> 0)
  }
  v6.push(...ip.words.map((w, i) => (w & masks[i]!) >>> 0), ...masks)
}
