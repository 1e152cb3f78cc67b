/**
 * The layout of the design card (README "Layout"): no import cycle among Orion's modules, and imports that point the
 * way its layers stack — each rule below names the imports that break it.
 */
import { describe, expect, it } from "vitest"
import { findCycles, importsIn, relativeImports, type ResolvedImport, sourcesUnder } from "./support/module-graph.js"

const orion = ["src", "runtime", "services"].flatMap(sourcesUnder)
const imports = relativeImports(orion)
const show = (edges: ReadonlyArray<ResolvedImport>) => edges.map((e) => `${e.from} → ${e.to ?? e.specifier}${e.dynamic ? " (dynamic)" : ""}`)

describe("the module reader", () => {
  it("reads static, type-only, re-exported, side-effect and dynamic imports, over several lines too", () => {
    const text = [
      `import { a,`,
      `  b } from "./a.js"`,
      `import type { T } from "../t.js"`,
      `export { c } from "./c.js"`,
      `export * as D from "./d.js"`,
      `import "./wire.js"`,
      `const lazy = () => import("./lazy.js")`,
      `const x = "not an import from \\"./nothing.js\\""`
    ].join("\n")
    expect(importsIn(text)).toEqual([
      { specifier: "./a.js", typeOnly: false, dynamic: false },
      { specifier: "../t.js", typeOnly: true, dynamic: false },
      { specifier: "./c.js", typeOnly: false, dynamic: false },
      { specifier: "./d.js", typeOnly: false, dynamic: false },
      { specifier: "./wire.js", typeOnly: false, dynamic: false },
      { specifier: "./lazy.js", typeOnly: false, dynamic: true }
    ])
  })

  it("finds every relative import's file: a line it misread would name none", () => {
    expect(show(imports.filter((e) => e.to === undefined))).toEqual([])
    // and it has read the graph, not nothing
    expect(imports.length).toBeGreaterThan(500)
  })

  it("names each cycle of a graph as a path back to its start", () => {
    const graph = new Map([
      ["a", ["b"]], ["b", ["c"]], ["c", ["a", "d"]], ["d", []], ["e", ["e"]], ["f", ["d"]]
    ])
    expect(findCycles(graph)).toEqual(["a → b → c → a", "e → e"])
    expect(findCycles(new Map([["a", ["b"]], ["b", []]]))).toEqual([])
  })
})

describe("the module graph of src/, runtime/ and services/", () => {
  /*
   * Every import counts: type-only ones (erased when compiled, but a dependency of the design all the same) and dynamic
   * `import()`s. Orion's dynamic imports are lazy on purpose — the HTTP server, the database drivers, the local or
   * remote client, the services, loaded only by the command or mode that needs them (test/imports.test.ts) — and none
   * of them closes a loop: a cycle is broken by moving the shared piece to where it belongs, not by deferring an import.
   */
  it("has no import cycle", () => {
    const graph = new Map<string, Array<string>>(orion.map((file) => [file, []]))
    for (const e of imports) if (e.to !== undefined) graph.get(e.from)?.push(e.to)
    expect(findCycles(graph)).toEqual([])
  })
})

/** A rule of the layout: files matching `files` import nothing matching `forbidden`; `breakingExample` would break it. */
interface Rule {
  readonly rule: string
  readonly files: (file: string) => boolean
  readonly forbidden: (imported: string) => boolean
  readonly breakingExample: readonly [from: string, to: string]
}

const under = (...dirs: Array<string>) => (file: string) => dirs.some((dir) => file.startsWith(dir))

const rules: ReadonlyArray<Rule> = [
  {
    rule: "src/domain/ (the Schemas) is the bottom layer: it imports only itself",
    files: under("src/domain/"),
    forbidden: (f) => !f.startsWith("src/domain/"),
    breakingExample: ["src/domain/runs.ts", "src/storage/tables.ts"]
  },
  {
    rule: "src/orchestration/ (the rules) decides on domain values alone",
    files: under("src/orchestration/"),
    forbidden: (f) => !under("src/domain/", "src/orchestration/")(f),
    breakingExample: ["src/orchestration/rules.ts", "src/storage/tables.ts"]
  },
  {
    rule: "src/storage/ stands on the domain and the rules (and the settings, the primitives of runtime/internal/): never on the API, a client, the SDK, the actors or the services",
    files: under("src/storage/"),
    forbidden: (f) => under("src/api/", "src/client/", "src/sdk/", "src/cli/", "runtime/", "services/")(f) && !f.startsWith("runtime/internal/"),
    breakingExample: ["src/storage/tables.ts", "runtime/orchestrator.ts"]
  },
  {
    rule: "runtime/internal/ holds primitives that know nothing of runs: they import one another and src/settings.ts only",
    files: under("runtime/internal/"),
    forbidden: (f) => !f.startsWith("runtime/internal/") && f !== "src/settings.ts",
    breakingExample: ["runtime/internal/once.ts", "src/domain/runs.ts"]
  },
  {
    rule: "runtime/ (the actor system) knows no HTTP server and no long-lived service: it imports neither src/api/ nor services/",
    files: under("runtime/"),
    forbidden: under("src/api/", "services/"),
    breakingExample: ["runtime/run-actor.ts", "src/api/server.ts"]
  },
  {
    rule: "src/api/ and src/client/ stand below the SDK: the server and the clients run no user code and import nothing from src/sdk/",
    files: under("src/api/", "src/client/"),
    forbidden: under("src/sdk/"),
    breakingExample: ["src/client/local.ts", "src/sdk/flow.ts"]
  },
  {
    rule: "src/ (the library, the API) imports services/ only in src/cli/, whose commands start them (orion start, orion agent, orion flow-run execute) or show their settings (orion config)",
    files: (f) => f.startsWith("src/") && !f.startsWith("src/cli/"),
    forbidden: under("services/"),
    breakingExample: ["src/api/server.ts", "services/index.ts"]
  },
  {
    rule: "nothing imports src/cli/ but the CLI itself (bin/orion.js runs it)",
    files: (f) => !f.startsWith("src/cli/"),
    forbidden: under("src/cli/"),
    breakingExample: ["services/agent.ts", "src/cli/main.ts"]
  }
]

describe("imports point the way the layers stack", () => {
  for (const rule of rules) {
    it(rule.rule, () => {
      expect(rule.files(rule.breakingExample[0]) && rule.forbidden(rule.breakingExample[1]), "the rule catches its breaking example").toBe(true)
      expect(show(imports.filter((e) => e.to !== undefined && rule.files(e.from) && rule.forbidden(e.to)))).toEqual([])
    })
  }
})

describe("what the dashboard and the typed client load", () => {
  // version.ts reads Orion's version through src/package-root.ts; the dashboard's build puts the value in its place (ui/vite.config.ts).
  const definition = ["src/api/api.ts", "src/api/schemas.ts", "src/api/errors.ts", "src/api/version.ts", "src/package-root.ts"]
  it("the API definition (src/api/api.ts and everything it loads) is its own modules and domain Schemas only: no handler, storage or actor", () => {
    const seen = new Set<string>()
    const visit = (file: string) => {
      if (seen.has(file)) return
      seen.add(file)
      for (const e of relativeImports([file])) if (e.to !== undefined && !e.typeOnly) visit(e.to)
    }
    visit("src/api/api.ts")
    expect([...seen].filter((f) => !f.startsWith("src/domain/") && !f.startsWith("src/api/groups/") && !definition.includes(f))).toEqual([])
  })

  it("ui/ imports from outside itself only the API definition (src/api/api.ts) and domain Schemas", () => {
    const ui = relativeImports(sourcesUnder("ui/src"))
    expect(show(ui.filter((e) => e.to === undefined))).toEqual([])
    expect(show(ui.filter((e) => !e.to!.startsWith("ui/") && e.to !== "src/api/api.ts" && !e.to!.startsWith("src/domain/")))).toEqual([])
  })
})
