/**
 * The package as a user gets it: `npm pack` (which builds dist/ on prepack), the tarball unpacked into a fresh project
 * whose node_modules holds only what the package declares (its dependencies and peer dependencies, and theirs, linked
 * from this repository's node_modules — no registry needed), then imported from plain `node` and type-checked under
 * strict settings with `skipLibCheck: false`.
 */
import { execFile } from "node:child_process"
import * as fs from "node:fs"
import { createRequire } from "node:module"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const requireHere = createRequire(path.join(root, "package.json"))

interface Manifest {
  readonly name: string
  readonly version: string
  readonly bin?: Record<string, string>
  readonly files?: ReadonlyArray<string>
  readonly exports?: Record<string, unknown>
  readonly dependencies?: Record<string, string>
  readonly devDependencies?: Record<string, string>
  readonly peerDependencies?: Record<string, string>
  readonly peerDependenciesMeta?: Record<string, { optional?: boolean }>
}
const readManifest = (dir: string): Manifest => JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")) as Manifest
const required = (m: Manifest) => [
  ...Object.keys(m.dependencies ?? {}),
  ...Object.keys(m.peerDependencies ?? {}).filter((p) => m.peerDependenciesMeta?.[p]?.optional !== true)
]

/**
 * The packages a project needs at its top level for `names` to load: each name, and what it requires that it does not
 * carry in its own node_modules, found as npm hoisted them in this repository.
 */
const closure = (names: ReadonlyArray<string>): Set<string> => {
  const seen = new Set<string>()
  const visit = (name: string) => {
    if (seen.has(name)) return
    const dir = path.join(root, "node_modules", name)
    if (!fs.existsSync(dir)) throw new Error(`${name} is required but not installed in this repository`)
    seen.add(name)
    const m = readManifest(dir)
    for (const dep of required(m)) if (!fs.existsSync(path.join(dir, "node_modules", dep))) visit(dep)
  }
  names.forEach(visit)
  return seen
}

// asynchronous, so that vitest's worker stays responsive while tsc or npm works
const run = (cmd: string, args: ReadonlyArray<string>, cwd: string, env: NodeJS.ProcessEnv = {}) =>
  new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile(cmd, args, { cwd, encoding: "utf8", env: { ...process.env, NO_COLOR: "1", ...env }, timeout: 120_000, maxBuffer: 64 << 20 }, (error, stdout, stderr) =>
      resolve({ status: error === null ? 0 : typeof error.code === "number" ? error.code : null, stdout, stderr }))
  })
const ok = async (cmd: string, args: ReadonlyArray<string>, cwd: string) => {
  const r = await run(cmd, args, cwd)
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${r.status}):\n${r.stderr}`)
  return r.stdout
}

describe("the packed package", () => {
  let work: string
  let project: string
  let tarball: string
  let manifest: Manifest

  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), "orion-pack-"))
    const packed = await ok("npm", ["pack", "--json", "--pack-destination", work], root)
    const info = JSON.parse(packed.slice(packed.indexOf("["))) as Array<{ filename: string }>
    tarball = path.join(work, info[0]!.filename)
    project = path.join(work, "project")
    const installed = path.join(project, "node_modules", "@orion-ts", "orion")
    fs.mkdirSync(installed, { recursive: true })
    // what `npm install <tarball>` puts in node_modules for the package itself…
    await ok("tar", ["-xzf", tarball, "-C", installed, "--strip-components=1"], work)
    manifest = readManifest(installed)
    // …and what it declares, linked from this repository (npm would fetch the same versions from the registry)
    for (const name of closure([...required(manifest), "typescript", "@types/node"])) {
      const link = path.join(project, "node_modules", name)
      fs.mkdirSync(path.dirname(link), { recursive: true })
      fs.symlinkSync(path.join(root, "node_modules", name), link, "dir")
    }
    fs.writeFileSync(path.join(project, "package.json"), JSON.stringify({ name: "user-project", private: true, type: "module" }))
  }, 180_000)

  afterAll(() => {
    if (work !== undefined) fs.rmSync(work, { recursive: true, force: true })
  })

  it("ships the build, not the sources, tests or benchmarks, and names effect as a peer", async () => {
    const files = (await ok("tar", ["-tzf", tarball], work)).split("\n").filter((f) => f !== "")
    expect(files).toContain("package/dist/src/index.js")
    expect(files).toContain("package/dist/src/index.d.ts")
    expect(files).toContain("package/dist/runtime/worker-bootstrap.mjs")
    expect(files).toContain("package/bin/orion.js")
    // the typed client's entry, and the dashboard `orion start` serves
    expect(files).toContain("package/dist/src/api-client.js")
    expect(files).toContain("package/ui/dist/index.html")
    expect(files.filter((f) => /^package\/(src|test|bench|examples|scripts|\.ci)\//.test(f))).toEqual([])
    expect(files.filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"))).toEqual([])
    expect(manifest.name).toBe("@orion-ts/orion")
    expect(manifest.bin).toEqual({ orion: "./bin/orion.js" })
    expect(manifest.exports?.["."]).toEqual({ types: "./dist/src/index.d.ts", import: "./dist/src/index.js" })
    expect(manifest.exports?.["./client"]).toEqual({ types: "./dist/src/api-client.d.ts", import: "./dist/src/api-client.js" })
    for (const p of ["effect", "@effect/platform", "@effect/sql", "@effect/cli"]) {
      expect(manifest.peerDependencies?.[p]).toBeDefined()
      expect(manifest.dependencies?.[p]).toBeUndefined()
    }
    expect(manifest.dependencies?.tsx).toBeUndefined()
  })

  it("runs a one-task flow from plain node (.mjs), with one copy of effect", async () => {
    const home = path.join(work, "home")
    fs.writeFileSync(path.join(project, "app.mjs"), [
      `import { flow, task } from "@orion-ts/orion"`,
      `const double = task({ name: "double" }, async (x) => x * 2)`,
      `const main = flow({ name: "main" }, async ({ n }) => double(n))`,
      `const state = await main.run({ n: 21 })`,
      `console.log(JSON.stringify({ type: state.type, name: state.name, result: await main({ n: 4 }) }))`
    ].join("\n"))
    const r = await run(process.execPath, ["app.mjs"], project, { ORION_HOME: home })
    expect(r.stderr).not.toMatch(/Executing an Effect versioned/)
    expect(r.status, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout.trim().split("\n").at(-1)!)).toEqual({ type: "COMPLETED", name: "Completed", result: 8 })
    expect(fs.existsSync(path.join(home, "orion.db"))).toBe(true)
  })

  it("runs the `orion` command from the compiled CLI", async () => {
    const r = await run(process.execPath, [path.join("node_modules", "@orion-ts", "orion", "bin", "orion.js"), "--version"], project)
    expect(r.status, r.stderr).toBe(0)
    expect(r.stdout.trim()).toContain(manifest.version)
  })

  it.each([["with", ["node"]], ["without", []]])("type-checks a user's TypeScript file under strict settings, skipLibCheck off, %s @types/node", async (_, types) => {
    fs.writeFileSync(path.join(project, "tsconfig.json"), JSON.stringify({
      compilerOptions: {
        target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", strict: true, skipLibCheck: false,
        noEmit: true, types
      },
      include: ["flow.ts"]
    }))
    fs.writeFileSync(path.join(project, "flow.ts"), [
      `import { Effect, Schema } from "effect"`,
      `import { flow, task, type State } from "@orion-ts/orion"`,
      `import { makeOrionClient } from "@orion-ts/orion/client"`,
      `const double = task({ name: "double", retries: 1 }, (x: number) => Effect.succeed(x * 2))`,
      `export const main = flow({ name: "main", parameters: Schema.Struct({ n: Schema.Number }) }, ({ n }) => double(n))`,
      `export const state: State = await main.run({ n: 1 })`,
      `export const client = makeOrionClient({ url: "http://127.0.0.1:4200/api" })`,
      // a wrong call must be an error, or the check proves nothing
      `// @ts-expect-error n is a number`,
      `await main.run({ n: "one" })`
    ].join("\n"))
    const tsc = requireHere.resolve("typescript/bin/tsc")
    const r = await run(process.execPath, [tsc, "-p", "tsconfig.json"], project)
    expect(r.stdout + r.stderr).toBe("")
    expect(r.status).toBe(0)
  }, 90_000)
})
