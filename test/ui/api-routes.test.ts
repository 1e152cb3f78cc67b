/**
 * The dashboard's client and the API definition cannot drift apart: its types come from `OrionApi` (checked by
 * `tsc -p ui`), and the route table it calls through is derived from `OrionApi` at build time — here checked against
 * the definition's endpoints, and found in the built `ui/dist` exactly as the definition gives it now.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { OrionApi } from "../../src/api/api.js"
import { routeTable } from "../../ui/orion-api-module.js"
import { root } from "./harness.js"

describe("the dashboard's route table", () => {
  it("has every endpoint of OrionApi, by group and name, with its method and path", () => {
    const table = routeTable()
    const groups = Object.values(OrionApi.groups)
    expect(Object.keys(table).sort()).toEqual(groups.map((g) => g.identifier).sort())
    for (const group of groups) {
      const endpoints = Object.values(group.endpoints)
      expect(Object.keys(table[group.identifier]!).sort(), group.identifier).toEqual(endpoints.map((e) => e.name).sort())
      for (const e of endpoints) {
        expect(table[group.identifier]![e.name], `${group.identifier}.${e.name}`).toEqual({ method: e.method, path: e.path, body: e.method !== "GET" && e.method !== "HEAD" })
      }
    }
    // the routes the flow-runs page starts with
    expect(table.flow_runs!.summaries).toEqual({ method: "POST", path: "/api/flow_runs/summaries", body: true })
    expect(table.flows!.names).toEqual({ method: "POST", path: "/api/flows/names", body: true })
    expect(table.flow_runs!.taskRunSummaries).toEqual({ method: "GET", path: "/api/flow_runs/:id/task_run_summaries", body: false })
  })

  it("is in the built ui/dist as the API definition gives it now (a stale build fails: `npm run build:ui`)", () => {
    const assets = path.join(root, "ui", "dist", "assets")
    const json = JSON.stringify(routeTable())
    const built = fs.readdirSync(assets).filter((f) => f.endsWith(".js")).map((f) => fs.readFileSync(path.join(assets, f), "utf8"))
    // the minifier keeps the JSON text; it may quote it with ' or ` (verbatim) or with " (its quotes escaped)
    expect(built.some((text) => text.includes(json) || text.includes(JSON.stringify(json).slice(1, -1)))).toBe(true)
    // and no Effect in the browser: nothing of the Schema or HttpApiClient runtime is bundled
    for (const text of built) {
      expect(text).not.toContain("HttpApiClient")
      expect(text).not.toContain("ParseError")
    }
  })
})
