/*
 * The shape of the code, checked: imports under src/ point one way (no file imports a file that imports
 * it back, directly or through others, statically, by type or with import()), and the published
 * declarations offer only the supported API (no internal method a user's editor would suggest).
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../', import.meta.url))
const src = join(root, 'src')

function filesUnder(folder: string, ending: string): string[] {
  return readdirSync(folder, { recursive: true, encoding: 'utf8' }).filter((name) => name.endsWith(ending)).map((name) => join(folder, name))
}

/**
 * The files under src/ that `file` imports: `import … from`, `export … from`, `import type`, `import('…')`,
 * and a module loaded by URL, `new URL('./x.ts', import.meta.url)` (a worker's entry, whatever expression
 * picks between its .ts and .js names: every relative .ts name in the call counts).
 */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8')
  const specifiers = [
    ...text.matchAll(/^\s*(?:import|export)\b[^'"]*?from\s*['"]([^'"]+)['"]/gm),
    ...text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g),
  ].map((match) => match[1]!)
  for (const call of text.matchAll(/\bnew URL\(([^;]*?),\s*import\.meta\.url\s*\)/g)) {
    for (const name of call[1]!.matchAll(/['"](\.{1,2}\/[^'"]+\.ts)['"]/g)) specifiers.push(name[1]!)
  }
  return specifiers.filter((specifier) => specifier.startsWith('.')).map((specifier) => resolve(dirname(file), specifier))
}

/** The folder under src/ a file is in ('' for src/ itself). */
function folderOf(file: string): string {
  const parts = relative(src, file).split(sep)
  return parts.length > 1 ? parts[0]! : ''
}

/** Pairs of folders that import each other, with one import each way, given every file's imports. */
function twoWayFolders(graph: Map<string, string[]>): string[] {
  const edges = new Map<string, string>()
  for (const [file, imports] of graph) {
    for (const imported of imports) {
      const from = folderOf(file)
      const to = folderOf(imported)
      if (from !== to && from !== '' && to !== '' && !edges.has(`${from}→${to}`)) edges.set(`${from}→${to}`, `${relative(root, file)} → ${relative(root, imported)}`)
    }
  }
  const found: string[] = []
  for (const [edge, example] of edges) {
    const [from, to] = edge.split('→') as [string, string]
    const back = edges.get(`${to}→${from}`)
    if (back !== undefined && from < to) found.push(`${from} ⇄ ${to}: ${example}; ${back}`)
  }
  return found
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

test('no two folders under src/ import each other (dependencies point one way), new URL() included', () => {
  const graph = new Map(filesUnder(src, '.ts').map((file) => [file, importsOf(file)]))
  const found = twoWayFolders(graph)
  assert.deepEqual(found, [], `folders that import each other:\n${found.join('\n')}`)
})

test('the folder check sees two folders that import each other, through new URL() too', () => {
  const folder = mkdtempSync(join(tmpdir(), 'wirespeed-folders-'))
  try {
    const a = join(folder, 'a.ts')
    writeFileSync(a, "const entry = new URL(import.meta.url.endsWith('.ts') ? '../serve/worker.ts' : '../serve/worker.js', import.meta.url)\n")
    assert.deepEqual(importsOf(a), [resolve(folder, '../serve/worker.ts')])
    const graph = new Map([
      [join(src, 'thread', 'a.ts'), [join(src, 'serve', 'worker.ts')]],
      [join(src, 'serve', 'b.ts'), [join(src, 'thread', 'c.ts')]],
      [join(src, 'serve', 'worker.ts'), [join(src, 'tcp', 'listen.ts')]],
    ])
    assert.deepEqual(twoWayFolders(graph).map((line) => line.split(':')[0]), ['serve ⇄ thread'])
  } finally {
    rmSync(folder, { recursive: true, force: true })
  }
})

const INTERNAL_NAMES = [
  'pushBody', 'endBody', 'failBody', 'discardBody', 'sendError', 'sendPrepared', 'prepare', 'activate',
  'resumeParsing', 'handleData', 'handleDrain', 'handleEnd', 'handleError', 'handleClose', 'handleTimeout',
  'deliverFrame', 'opened', 'setHandlers', 'received', 'transmit', 'drained',
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
    // The transport's interface as users see it: no sweep internals on Protocol, no owesDrain or sendFile on Connection.
    const transport = readFileSync(join(out, 'tcp', 'types.d.ts'), 'utf8')
    const leaked = ['owesDrain', 'sendFile', 'checkDeadline', 'shutdown', 'stages'].filter((name) => new RegExp(`\\b${name}\\??\\s*[(:]`).test(transport))
    assert.deepEqual(leaked, [], `internals in the published transport types: ${leaked.join(', ')}`)
    // What was stripped is stripped everywhere it was named: the declarations type-check on their own, libraries included.
    writeFileSync(join(out, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { noEmit: true, skipLibCheck: false, strict: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', types: ['node'], typeRoots: [join(root, 'node_modules', '@types')] },
      files: ['index.d.ts'],
    }))
    await new Promise<void>((done, fail) =>
      execFile(tsc, ['-p', join(out, 'tsconfig.json')], { cwd: out, timeout: 60_000 }, (error, stdout, stderr) =>
        error ? fail(new Error(`the built declarations do not type-check: ${stdout}${stderr}`)) : done(),
      ),
    )
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
