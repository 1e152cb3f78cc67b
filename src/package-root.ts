/** Where this package is installed: the nearest folder above this module holding Orion's package.json — the same whether Orion runs from src/ (tsx) or from the built dist/. */
import { existsSync, readFileSync } from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const find = (from: string): { readonly root: string; readonly manifest: { readonly name: string; readonly version: string } } => {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const file = path.join(dir, "package.json")
    if (existsSync(file)) {
      const manifest = JSON.parse(readFileSync(file, "utf8")) as { name?: unknown; version?: unknown }
      if (manifest.name === "@orion-ts/orion" && typeof manifest.version === "string") return { root: dir, manifest: { name: manifest.name, version: manifest.version } }
    }
    if (path.dirname(dir) === dir) throw new Error(`Orion cannot find its own package.json above ${from}`)
  }
}

const found = find(path.dirname(fileURLToPath(import.meta.url)))

/** The package's folder (it holds package.json, dist/ and, in a checkout, src/). */
export const packageRoot: string = found.root
/** The package's name and version, from its package.json. */
export const packageManifest: { readonly name: string; readonly version: string } = found.manifest
