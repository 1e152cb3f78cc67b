/**
 * Imports a user's module by path — a flow file with deployments, a deployment's flow — TypeScript included: tsx (an
 * optional peer) is registered once, unless Orion itself already runs under it.
 */
import { existsSync, statSync } from "node:fs"
import * as path from "node:path"
import { pathToFileURL } from "node:url"

const typescript = /\.[cm]?tsx?$/
const loadable = /\.([cm]?[jt]sx?)$/

/** Orion runs from its TypeScript sources (a checkout): tsx is already active in this process. */
const orionUnderTsx = import.meta.url.endsWith(".ts")
let tsxRegistered: Promise<void> | undefined

const registerTsx = () =>
  tsxRegistered ??= import("tsx/esm/api").then(
    (tsx) => void tsx.register(),
    (cause) => {
      tsxRegistered = undefined
      throw new Error("Loading TypeScript needs tsx, which is not installed: npm install --save-dev tsx (or compile the module to .js)", { cause })
    }
  )

/** Why `file` cannot be loaded as a module, or undefined when it can be tried. */
export const unloadable = (file: string): string | undefined => {
  if (!existsSync(file)) return `${file} does not exist`
  if (!statSync(file).isFile()) return `${file} is not a file`
  if (!loadable.test(file)) return `${file} is not a JavaScript or TypeScript module (.ts, .mts, .js, .mjs …)`
  return undefined
}

/** The module's exports. Fails with the module's own error when importing it throws. */
export const importModule = async (file: string): Promise<Record<string, unknown>> => {
  const absolute = path.resolve(file)
  if (typescript.test(absolute) && !orionUnderTsx) await registerTsx()
  return await import(pathToFileURL(absolute).href) as Record<string, unknown>
}
