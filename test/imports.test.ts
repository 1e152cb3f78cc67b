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

describe("imports of the platform packages", () => {
  it("name modules, not the package barrels", () => {
    const barrel = /from\s+["']@effect\/platform(-node)?["']/
    const offenders = ["src", "runtime"].flatMap(sources).filter((file) => barrel.test(fs.readFileSync(path.join(root, file), "utf8")))
    expect(offenders).toEqual([])
  })
})
