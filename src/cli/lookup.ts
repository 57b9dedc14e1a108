/*
 * `wirespeed lookup <host> [--reverse] [--port 80]`: getaddrinfo and getnameinfo through node:dns (the old
 * TestAddrinfo). Lists every address with its family; with --reverse, the name and service for an address
 * and port. An unknown host gets one line and exit code 2.
 */
import { lookup, lookupService } from 'node:dns/promises'
import { isIP } from 'node:net'
import { integerFlag, parseFlags, UsageError } from './args.ts'

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(args, { reverse: { type: 'boolean' }, port: { type: 'string' }, help: { type: 'boolean' } })
  if (values.help) {
    process.stdout.write('Usage: wirespeed lookup <host> [--reverse] [--port 80]\n\nLists the addresses of a host name, or with --reverse the name of an address.\n')
    return 0
  }
  if (positionals.length !== 1) throw new UsageError('Expected one host name or address')
  const host = positionals[0]!
  if (values.reverse) {
    if (isIP(host) === 0) throw new UsageError(`--reverse takes an address, got ${JSON.stringify(host)}`)
    const port = integerFlag('port', values.port, 80, 0, 65535)
    const { hostname, service } = await lookupService(host, port).catch((error: NodeJS.ErrnoException) => {
      throw new UsageError(`No name for ${host}:${port} (${error.code ?? error.message})`)
    })
    process.stdout.write(`${host} port ${port}  ->  ${hostname} (${service})\n`)
    return 0
  }
  const addresses = await lookup(host, { all: true }).catch((error: NodeJS.ErrnoException) => {
    throw new UsageError(`Unknown host ${host} (${error.code ?? error.message})`)
  })
  for (const { address, family } of addresses) process.stdout.write(`${address.padEnd(40)} IPv${family}\n`)
  return 0
}
