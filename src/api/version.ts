/** Orion's version, read once from package.json (shown by `/api/admin/version` and the OpenAPI document). */
import { packageManifest } from "../package-root.js"

export const orionVersion: string = packageManifest.version
