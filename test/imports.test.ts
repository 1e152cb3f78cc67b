/**
 * Orion imports @effect/platform and @effect/platform-node by module ("@effect/platform/HttpApiBuilder"), never by
 * their barrels: a barrel loads every module of the package, among them the Scalar and Swagger UI bundles as strings —
 * measured, +15 MB of heap in `orion start`, +25 MB in a remote-mode script, +0.4 s for `orion --help`.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const sources = (dir: string): Array<string> =>
  fs.readdirSync(path.join(root, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(path.join(dir, e.name)) : e.name.endsWith(".ts") ? [path.join(dir, e.name)] : [])

/**
 * The modules `entry` loads when imported: its static, non-type imports, followed through Orion's own files (a dynamic
 * `import()` loads later, when its branch is taken, and is not followed). Answers Orion's files and the packages named.
 */
const loadedBy = (entry: string) => {
  const files = new Set<string>()
  const packages = new Set<string>()
  const visit = (file: string) => {
    if (files.has(file)) return
    files.add(file)
    const text = fs.readFileSync(path.join(root, file), "utf8")
    for (const m of text.matchAll(/^(?:import|export)\s+(?!type\b)(?:[^"';]*?\s+from\s+)?["']([^"']+)["']/gm)) {
      const spec = m[1]!
      if (spec.startsWith(".")) visit(path.normalize(path.join(path.dirname(file), spec.replace(/\.js$/, ".ts"))))
      else if (!spec.startsWith("node:")) packages.add(spec)
    }
  }
  visit(entry)
  return { files: [...files], packages: [...packages] }
}

describe("what importing Orion loads", () => {
  it("the main entry loads no HTTP stack, no API definition and no database driver: a flow script pays for what it runs", () => {
    const { files, packages } = loadedBy("src/index.ts")
    expect(files.filter((f) => f.startsWith("src/api/") || /src\/client\/(remote|typed)/.test(f))).toEqual([])
    expect(packages.filter((p) => /^@effect\/(platform|sql)|better-sqlite3|^pg$/.test(p))).toEqual([])
  })

  it("nor OpenTelemetry: @effect/opentelemetry and the OTel SDK load (dynamically) only when an OTLP endpoint is set", () => {
    const { files, packages } = loadedBy("src/index.ts")
    expect(files).toContain("src/tracing.ts")
    expect(packages.filter((p) => /opentelemetry/.test(p))).toEqual([])
  })

  it("the client entry is the typed client", () => {
    const { files } = loadedBy("src/api-client.ts")
    expect(files).toContain("src/client/typed.ts")
    expect(files).toContain("src/api/api.ts")
  })
})

describe("imports of the platform and SQL packages", () => {
  it("name modules, not the package barrels", () => {
    const barrel = /from\s+["']@effect\/(platform|platform-node|sql|sql-sqlite-node|sql-pg)["']/
    const offenders = ["src", "runtime", "services"].flatMap(sources).filter((file) => barrel.test(fs.readFileSync(path.join(root, file), "utf8")))
    expect(offenders).toEqual([])
  })
})
