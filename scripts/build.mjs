// Builds the package into dist/: tsc emits .js and .d.ts for src/, runtime/ and services/ (tsconfig.build.json), plus the worker
// threads' plain-JS bootstrap, which tsc does not copy. Run by `npm run build` and by `npm pack` (prepack).
import { execFileSync } from "node:child_process"
import { copyFileSync, rmSync } from "node:fs"
import { createRequire } from "node:module"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("..", import.meta.url))
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc")
rmSync(new URL("../dist", import.meta.url), { recursive: true, force: true })
execFileSync(process.execPath, [tsc, "-p", "tsconfig.build.json"], { cwd: root, stdio: "inherit" })
copyFileSync(new URL("../runtime/worker-bootstrap.mjs", import.meta.url), new URL("../dist/runtime/worker-bootstrap.mjs", import.meta.url))
