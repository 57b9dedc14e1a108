import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import { ListenError, spawn, WirespeedError } from '../../src/index.ts'
import { assertNoOpenHandles } from '../helpers/raw-client.ts'

after(assertNoOpenHandles)

const fixture = (name: string) => new URL(`./fixtures/${name}.ts`, import.meta.url)

describe('spawn()', () => {
  test('runs the default export with parameters and joins its result', async () => {
    const job = spawn<{ sum: number }>(fixture('sum'), { n: 10 })
    assert.ok(job.threadId > 0)
    assert.deepEqual(await job.join(), { sum: 55 })
  })

  test('runs several threads at once', async () => {
    const jobs = [1, 2, 3].map((n) => spawn<{ sum: number }>(fixture('sum'), { n }))
    assert.deepEqual(await Promise.all(jobs.map((job) => job.join())), [{ sum: 1 }, { sum: 3 }, { sum: 6 }])
  })

  test('returns an ArrayBuffer result intact (transferred)', async () => {
    const buffer = await spawn<ArrayBuffer>(fixture('bytes'), { length: 1 << 20 }).join()
    assert.ok(buffer instanceof ArrayBuffer)
    assert.equal(buffer.byteLength, 1 << 20)
    assert.equal(new Uint8Array(buffer)[300], 300 & 0xff)
  })

  test("rejects join() with one of wirespeed's errors as its class, with its code, fields and cause", async () => {
    await assert.rejects(spawn(fixture('throws-wirespeed')).join(), (error: unknown) => {
      assert.ok(error instanceof ListenError, String(error))
      assert.ok(error instanceof WirespeedError)
      assert.equal(error.name, 'ListenError')
      assert.equal(error.code, 'LISTEN_FAILED')
      assert.equal(error.reason, 'EACCES')
      assert.equal(error.message, 'Cannot listen on 127.0.0.1:1: on purpose')
      assert.match(error.stack!, /throws-wirespeed\.ts/)
      assert.ok(error.cause instanceof TypeError)
      assert.equal(error.cause.message, 'the cause')
      return true
    })
  })

  test("rejects join() with the worker's error, message and stack", async () => {
    await assert.rejects(spawn(fixture('throws')).join(), (error: Error) => {
      assert.equal(error.name, 'RangeError')
      assert.equal(error.message, 'the job failed on purpose')
      assert.match(error.stack!, /throws\.ts/)
      return true
    })
  })

  test('terminates a job that passes its timeout', async () => {
    await assert.rejects(spawn(fixture('forever'), undefined, { timeoutMs: 100 }).join(), { code: 'THREAD_TIMEOUT', message: /did not finish within 100 ms/ })
  })

  test('terminate() stops a job and join() rejects', async () => {
    const job = spawn(fixture('forever'))
    await job.terminate()
    await assert.rejects(job.join(), { code: 'THREAD_EXITED' })
  })

  test('reports a module without a default export, and a bad timeout', async () => {
    await assert.rejects(spawn(new URL('../../src/errors.ts', import.meta.url)).join(), /has no default export function/)
    assert.throws(() => spawn(fixture('sum'), {}, { timeoutMs: 0 }), /Invalid option timeoutMs/)
  })
})
