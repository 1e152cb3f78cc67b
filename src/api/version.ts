/** Orion's version, read once from package.json (shown by `/api/admin/version` and the OpenAPI document). */
import { createRequire } from "node:module"

export const orionVersion: string = (createRequire(import.meta.url)("../../package.json") as { version: string }).version
