#!/usr/bin/env node
// The `orion` command. Installed from the package it runs the compiled CLI (dist/); in a checkout of the repository
// (src/ present) it runs the TypeScript sources through tsx, so a change needs no build step.
import { existsSync } from "node:fs"

const source = new URL("../src/cli/main.ts", import.meta.url)
const built = new URL("../dist/src/cli/main.js", import.meta.url)
if (existsSync(source)) {
  const { register } = await import("tsx/esm/api")
  register()
  await import(source.href)
} else if (existsSync(built)) {
  await import(built.href)
} else {
  console.error("orion: the package is not built (dist/src/cli/main.js is missing); run `npm run build`")
  process.exit(1)
}
