import assert from 'node:assert/strict'
import { test } from 'node:test'
import { compileGlob, fillDestination } from '../../src/static/glob.ts'

const matches = (glob: string, path: string) => compileGlob(glob, 'test').match(path) !== null

test('* stays in a segment, ** spans segments (none included), ? is one character', () => {
  assert.equal(matches('/assets/*.js', '/assets/app.js'), true)
  assert.equal(matches('/assets/*.js', '/assets/a/app.js'), false)
  assert.equal(matches('/assets/**', '/assets/a/b/c.js'), true)
  assert.equal(matches('/assets/**', '/assets'), true)
  assert.equal(matches('/assets/**', '/assetsx/a'), false)
  assert.equal(matches('**/*.png', '/a.png'), true, 'no leading slash: one is added; **/ may be nothing')
  assert.equal(matches('**/*.png', '/x/y/a.png'), true)
  assert.equal(matches('/a?c', '/abc'), true)
  assert.equal(matches('/a?c', '/a/c'), false)
  assert.equal(matches('/a.b', '/axb'), false, 'a dot is a dot')
})

test('{a,b} and @(a|b) are alternatives; a leading ! negates', () => {
  assert.equal(matches('/**/*.{jpg,png}', '/img/x.png'), true)
  assert.equal(matches('**/*.@(jpg|jpeg|gif|png)', '/img/x.jpeg'), true)
  assert.equal(matches('**/*.@(jpg|jpeg|gif|png)', '/img/x.svg'), false)
  assert.equal(matches('!/api/**', '/app'), true)
  assert.equal(matches('!/api/**', '/api/x'), false)
})

test(':name captures a segment for the destination', () => {
  assert.deepEqual(compileGlob('/projects/:id/edit', 't').match('/projects/42/edit'), { id: '42' })
  assert.equal(compileGlob('/projects/:id/edit', 't').match('/projects/4/2/edit'), null)
  assert.equal(fillDestination('/edit-project-:id.html', { id: '42' }), '/edit-project-42.html')
  assert.equal(fillDestination('/x/:other', {}), '/x/:other')
})

test('what it does not support is refused, naming the glob and where it is', () => {
  for (const [glob, message] of [['/a/{b,{c,d}}', /cannot be nested/], ['/a/{b', /an unclosed/], ['/a}', /an unmatched }/], ['/a**', /whole segment/], ['/[ab]', /character classes/], ['/+(a)', /\+\(…\)/], ['', /expected a path pattern/], ['/:id/:id', /:id appears twice/]] as const) {
    assert.throws(() => compileGlob(glob, 'headers[2].source'), (error: Error) => error instanceof TypeError && /headers\[2\]\.source/.test(error.message) && message.test(error.message), glob)
  }
})
