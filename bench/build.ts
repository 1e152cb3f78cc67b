/**
 * Builds Orion with tsc into build/bench for the benchmarks, so that their processes run compiled JavaScript under
 * plain `node`, as a deployed flow runs. Answers the compiled path of a bench file (e.g. "bench/tasks.ts").
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"

const built = new Set<string>()

export const compiledBench = (root: string, file: string): string => {
  const out = path.join(root, "build", "bench")
  if (!built.has(out)) {
    fs.rmSync(out, { recursive: true, force: true })
    const tsc = spawnSync(process.execPath, [path.join(root, "node_modules", "typescript", "bin", "tsc"), "-p", path.join(root, "tsconfig.json"),
      "--noEmit", "false", "--outDir", out, "--rootDir", root, "--declaration", "false", "--sourceMap", "false"], { encoding: "utf8" })
    if (tsc.status !== 0) throw new Error(`tsc failed:\n${tsc.stdout}${tsc.stderr}`)
    // src/api/version.ts reads the package's version from ../../package.json
    fs.copyFileSync(path.join(root, "package.json"), path.join(out, "package.json"))
    built.add(out)
  }
  return path.join(out, file.replace(/\.ts$/, ".js"))
}
