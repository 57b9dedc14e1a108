/*
 * Test certificates made at run time with the `openssl` command, never committed (committed keys leak
 * into every clone and expire): a CA (ECDSA P-256), a leaf with an RSA 2048 key for `localhost` and
 * `a.test`, a leaf with an ECDSA P-256 key for `b.test`, an expired leaf, and the RSA key again encrypted
 * with a passphrase. Made once per process in a temporary folder that is removed at exit.
 * `certificates()` answers undefined when `openssl` is missing: the caller skips, saying so.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface TestCertificates {
  ca: string
  /** RSA 2048, for localhost, 127.0.0.1 and a.test. */
  rsa: { key: string; cert: string }
  /** ECDSA P-256, for b.test. */
  ecdsa: { key: string; cert: string }
  /** RSA 2048 for localhost, ended yesterday. */
  expired: { key: string; cert: string }
  /** `rsa.key` encrypted (AES-256) with `passphrase`. */
  encryptedKey: string
  passphrase: string
}

/** Why TLS tests skip, or false when `openssl` is here. */
export const opensslMissing: string | false = spawnSync('openssl', ['version']).status === 0 ? false : 'the openssl command is not installed'

let made: TestCertificates | undefined

export function certificates(): TestCertificates | undefined {
  if (opensslMissing) return undefined
  if (made) return made
  const folder = mkdtempSync(join(tmpdir(), 'wirespeed-tls-'))
  process.once('exit', () => rmSync(folder, { recursive: true, force: true }))
  const run = (...args: string[]) => {
    const result = spawnSync('openssl', args, { cwd: folder, encoding: 'utf8' })
    if (result.status !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${result.stderr}`)
  }
  const read = (name: string) => readFileSync(join(folder, name), 'latin1')
  run('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-subj', '/CN=wirespeed test CA', '-days', '2')
  const leaf = (name: string, keyArgs: string[], cn: string, san: string, days: string) => {
    run('req', '-newkey', ...keyArgs, '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`)
    writeFileSync(join(folder, `${name}.ext`), `subjectAltName=${san}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n`)
    run('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', days, '-extfile', `${name}.ext`, '-out', `${name}.pem`)
    return { key: read(`${name}.key`), cert: read(`${name}.pem`) }
  }
  const rsa = leaf('rsa', ['rsa:2048'], 'localhost', 'DNS:localhost,DNS:a.test,IP:127.0.0.1', '2')
  const ecdsa = leaf('ecdsa', ['ec', '-pkeyopt', 'ec_paramgen_curve:P-256'], 'b.test', 'DNS:b.test', '2')
  const expired = leaf('expired', ['ec', '-pkeyopt', 'ec_paramgen_curve:P-256'], 'localhost', 'DNS:localhost', '-1')
  const passphrase = 'correct horse'
  run('pkey', '-in', 'rsa.key', '-aes256', '-passout', `pass:${passphrase}`, '-out', 'rsa-encrypted.key')
  made = { ca: read('ca.pem'), rsa, ecdsa, expired, encryptedKey: read('rsa-encrypted.key'), passphrase }
  return made
}
