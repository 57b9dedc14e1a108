#!/usr/bin/env node
// The `wirespeed` command. In a checkout it runs the TypeScript sources (Node strips the types); in the
// published package, which has no src/, it runs the compiled dist/.
//
// Before either, it checks the Node running it against `engines` in package.json, and on an older one says
// in one line what is needed and how to run it, rather than letting the import fail with a stack
// (ERR_UNKNOWN_FILE_EXTENSION on the .ts sources in a checkout). This file is plain JavaScript that every
// Node since 14 can parse, so that the check itself runs.
import { existsSync, readFileSync } from 'node:fs'

const source = new URL('../src/cli/main.ts', import.meta.url)
const checkout = existsSync(source)
const { engines } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
const needed = /\d+(\.\d+)*/.exec(engines.node)[0].replace(/\.0$/, '')
const running = process.versions.node

if (process.versions.bun === undefined && !atLeast(running, needed)) {
  const how = checkout
    ? 'in this checkout run npm ci once, then npx wirespeed or npm start, which use the Node it installs (node_modules/.bin/node)'
    : 'install a newer Node (https://nodejs.org), then run npx wirespeed'
  process.stderr.write(`wirespeed needs Node ${needed} or later (this is ${running}): ${how}\n`)
  process.exit(1)
}

const entry = checkout ? source : new URL('../dist/cli/main.js', import.meta.url)
const { main } = await import(entry.href)
process.exitCode = await main(process.argv.slice(2))

/** True when `version` ("20.20.2") is at least `minimum` ("22.18"), compared part by part. */
function atLeast(version, minimum) {
  const have = version.split('.').map(Number)
  const need = minimum.split('.').map(Number)
  for (let i = 0; i < need.length; i++) {
    if ((have[i] ?? 0) !== need[i]) return (have[i] ?? 0) > need[i]
  }
  return true
}
