/** Which flow modules a reused executor may run again: one whose file changed since it was loaded is stale; a touch is not a change. */
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { LoadedFlowModules } from "../../services/flow-modules-loaded.js"
import { tempDir } from "../support/databases.js"

describe("LoadedFlowModules", () => {
  it("is fresh for a module never loaded here, and for one unchanged or only touched since", () => {
    const file = path.join(tempDir(), "flow.ts")
    fs.writeFileSync(file, "export const a = 1\n")
    const modules = new LoadedFlowModules()
    expect(modules.staleReason(file)).toBeUndefined()
    modules.recordLoad(file)
    expect(modules.staleReason(file)).toBeUndefined()
    const later = new Date(Date.now() + 5_000)
    fs.utimesSync(file, later, later)
    expect(modules.staleReason(file)).toBeUndefined()
  })

  it("is stale for a module whose content changed, even at the same size, or that is gone", () => {
    const dir = tempDir()
    const file = path.join(dir, "flow.ts")
    fs.writeFileSync(file, "export const a = 1\n")
    const modules = new LoadedFlowModules()
    modules.recordLoad(file)
    fs.writeFileSync(file, "export const a = 2\n")
    const later = new Date(Date.now() + 5_000)
    fs.utimesSync(file, later, later)
    expect(modules.staleReason(file)).toBe(`${file} changed on disk since this executor loaded it`)
    // recorded once, at its first load: a second record does not make the changed file fresh
    modules.recordLoad(file)
    expect(modules.staleReason(file)).toBe(`${file} changed on disk since this executor loaded it`)
    const other = path.join(dir, "other.ts")
    fs.writeFileSync(other, "export {}\n")
    modules.recordLoad(path.relative(process.cwd(), other))
    fs.rmSync(other)
    expect(modules.staleReason(other)).toBe(`${other} is no longer readable since this executor loaded it`)
  })
})
