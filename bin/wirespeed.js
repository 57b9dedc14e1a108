#!/usr/bin/env node
// The `wirespeed` command. In a checkout it runs the TypeScript sources (Node strips the types); in the
// published package, which has no src/, it runs the compiled dist/.
import { existsSync } from 'node:fs'

const source = new URL('../src/cli/main.ts', import.meta.url)
const entry = existsSync(source) ? source : new URL('../dist/cli/main.js', import.meta.url)
const { main } = await import(entry.href)
process.exitCode = await main(process.argv.slice(2))
