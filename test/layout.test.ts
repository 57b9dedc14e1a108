/*
 * The shape of the code, checked: imports under src/ point one way (no file imports a file that imports
 * it back, directly or through others, statically, by type or with import()), and the published
 * declarations offer only the supported API (no internal method a user's editor would suggest).
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, relative, resolve } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../', import.meta.url))
const src = join(root, 'src')

function filesUnder(folder: string, ending: string): string[] {
  return readdirSync(folder, { recursive: true, encoding: 'utf8' }).filter((name) => name.endsWith(ending)).map((name) => join(folder, name))
}

/** The files under src/ that `file` imports: `import … from`, `export … from`, `import type`, `import('…')`. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8')
  const specifiers = [
    ...text.matchAll(/^\s*(?:import|export)\b[^'"]*?from\s*['"]([^'"]+)['"]/gm),
    ...text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g),
  ].map((match) => match[1]!)
  return specifiers.filter((specifier) => specifier.startsWith('.')).map((specifier) => resolve(dirname(file), specifier))
}

test('no file under src/ imports a file that imports it back, directly or through others', () => {
  const graph = new Map(filesUnder(src, '.ts').map((file) => [file, importsOf(file)]))
  const cycles: string[] = []
  const state = new Map<string, 'visiting' | 'done'>()
  const path: string[] = []
  const visit = (file: string): void => {
    state.set(file, 'visiting')
    path.push(file)
    for (const next of graph.get(file) ?? []) {
      if (state.get(next) === 'visiting') {
        cycles.push([...path.slice(path.indexOf(next)), next].map((one) => relative(root, one)).join(' → '))
      } else if (!state.has(next) && graph.has(next)) {
        visit(next)
      }
    }
    path.pop()
    state.set(file, 'done')
  }
  for (const file of graph.keys()) if (!state.has(file)) visit(file)
  assert.ok(graph.size > 40, `walked ${graph.size} files`)
  assert.deepEqual(cycles, [], `import cycles:\n${cycles.join('\n')}`)
})

test('the cycle check sees a cycle when there is one', () => {
  // The same walk over two files that import each other, so the check above cannot pass by seeing nothing.
  const folder = mkdtempSync(join(tmpdir(), 'wirespeed-cycle-'))
  try {
    const a = join(folder, 'a.ts')
    const b = join(folder, 'b.ts')
    writeFileSync(a, "import { b } from './b.ts'\nexport const a = 1\n")
    writeFileSync(b, "export const b = () => import('./a.ts')\n")
    assert.deepEqual(importsOf(a), [b])
    assert.deepEqual(importsOf(b), [a])
  } finally {
    rmSync(folder, { recursive: true, force: true })
  }
})

const INTERNAL_NAMES = [
  'pushBody', 'endBody', 'failBody', 'discardBody', 'sendError', 'sendPrepared', 'prepare', 'activate',
  'resumeParsing', 'handleData', 'handleDrain', 'handleEnd', 'handleError', 'handleClose', 'handleTimeout',
  'deliverFrame', 'opened',
]

test('the built declarations name none of the internal methods', async () => {
  const out = mkdtempSync(join(tmpdir(), 'wirespeed-dts-'))
  try {
    const tsc = join(root, 'node_modules', '.bin', 'tsc')
    await new Promise<void>((done, fail) =>
      execFile(tsc, ['-p', join(root, 'tsconfig.build.json'), '--outDir', out], { cwd: root, timeout: 60_000 }, (error, stdout, stderr) =>
        error ? fail(new Error(`tsc failed: ${stdout}${stderr}`)) : done(),
      ),
    )
    const declarations = filesUnder(out, '.d.ts')
    assert.ok(declarations.some((file) => file.endsWith('index.d.ts')))
    const found: string[] = []
    for (const file of declarations) {
      const text = readFileSync(file, 'utf8')
      for (const name of INTERNAL_NAMES) {
        if (new RegExp(`\\b${name}\\s*\\(`).test(text)) found.push(`${relative(out, file)}: ${name}`)
      }
    }
    assert.deepEqual(found, [], `internal methods in the published types:\n${found.join('\n')}`)
  } finally {
    rmSync(out, { recursive: true, force: true })
  }
})

test('no value is forced into a type it is not (as unknown as)', () => {
  const forced = filesUnder(src, '.ts').filter((file) => /as unknown as/.test(readFileSync(file, 'utf8')))
  assert.deepEqual(forced.map((file) => relative(root, file)), [])
})

test('nothing under src/ throws a bare Error: an operating error is a WirespeedError, a broken invariant an assertion', () => {
  const bare = filesUnder(src, '.ts').flatMap((file) =>
    readFileSync(file, 'utf8').split('\n').flatMap((line, index) => (/\bthrow new Error\(/.test(line) ? [`${relative(root, file)}:${index + 1}`] : [])),
  )
  assert.deepEqual(bare, [], `throw new Error( in:\n${bare.join('\n')}`)
})
