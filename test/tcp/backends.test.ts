/*
 * The backend registry (src/tcp/backends.ts): the default is the first record that runs here, has what the
 * caller needs and loads; an explicit choice that cannot be had is an error saying why and what to use.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { BACKENDS, backendsHere, chooseBackend } from '../../src/tcp/backends.ts'

const linux = process.platform === 'linux'
const first = BACKENDS[0]!
const portable = BACKENDS.find((record) => record.platforms === 'any')!

test('the registry lists each backend once, the portable one last, each with every capability said', () => {
  assert.equal(new Set(BACKENDS.map((record) => record.name)).size, BACKENDS.length)
  assert.equal(BACKENDS.at(-1), portable)
  for (const record of BACKENDS) assert.deepEqual(Object.keys(record.capabilities).sort(), ['adoptFd', 'parksInNodeLoop', 'rawSockets', 'sendFile', 'tls'])
})

test('chooseBackend() without a choice takes the first backend that runs here, and says why', { skip: !linux && 'the first backend needs Linux' }, async () => {
  const choice = await chooseBackend({ environment: undefined })
  assert.equal(choice.name, first.name)
  assert.equal(choice.reason, 'the default on Linux')
  assert.equal(choice.backend.name, first.name)
  assert.equal(choice.capabilities, first.capabilities)
})

test('chooseBackend() passes over a backend that cannot run on the platform, saying so', async () => {
  const choice = await chooseBackend({ environment: undefined, platform: 'aix' })
  assert.equal(choice.name, portable.name)
  assert.match(choice.reason, /needs Linux \(this is aix\), so /)
})

test('chooseBackend() passes over a backend that lacks what the caller needs', async () => {
  const lacking = BACKENDS.find((record) => !record.capabilities.rawSockets)!
  const choice = await chooseBackend({ environment: undefined, needs: { sendFile: 'the test' }, platform: linux ? 'linux' : process.platform })
  if (linux) assert.equal(choice.capabilities.sendFile, true)
  else assert.equal(choice.name, portable.name)
  await assert.rejects(chooseBackend({ asked: lacking.name, needs: { rawSockets: 'the test' } }), /^RangeError: Invalid option backend: \w+ cannot drive sockets with system calls, which the test needs/)
})

test('chooseBackend() with nothing that can do what is needed says what each lacks', async () => {
  await assert.rejects(chooseBackend({ environment: undefined, needs: { tls: 'the tls option' } }), (error: Error) => {
    assert.ok(error instanceof RangeError)
    for (const record of BACKENDS) assert.match(error.message, new RegExp(`${record.name} (cannot terminate TLS|needs)`))
    return true
  })
})

test('an explicit backend: the option wins over WIRESPEED_BACKEND, which wins over the default', async () => {
  assert.deepEqual(await chooseBackend({ asked: portable.name, environment: first.name }).then((one) => [one.name, one.reason]), [portable.name, 'the backend option'])
  assert.deepEqual(await chooseBackend({ environment: portable.name }).then((one) => [one.name, one.reason]), [portable.name, `WIRESPEED_BACKEND=${portable.name}`])
  await assert.rejects(chooseBackend({ asked: 'nope' }), /^RangeError: Invalid option backend "nope": expected one of /)
  await assert.rejects(chooseBackend({ environment: 'nope' }), /^RangeError: Invalid WIRESPEED_BACKEND "nope": expected one of /)
  await assert.rejects(chooseBackend({ asked: first.name, platform: 'aix' }), new RegExp(`^RangeError: Invalid option backend: ${first.name} needs Linux \\(this is aix\\); use ${portable.name}$`))
})

test('backendsHere() lists the default first and every other backend that loads', async () => {
  const { here, missing } = await backendsHere()
  assert.equal(here.length + missing.length, BACKENDS.length)
  assert.equal(here[0], (await chooseBackend({ environment: undefined })).name)
  assert.ok(here.includes(portable.name))
})

test('listen({ fd }) asks the registry for a backend that adopts a listening socket, and none does yet (issue 39)', async () => {
  const { listen } = await import('../../src/index.ts')
  await assert.rejects(listen({ fd: 3, handlers: { data() {} } }), (error: Error) => {
    assert.ok(error instanceof RangeError)
    assert.match(error.message, /cannot adopt a listening socket, which the fd option needs/)
    return true
  })
})
