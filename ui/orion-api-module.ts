/**
 * The dashboard's view of the API definition, made at build time in Node: the method and path of every endpoint of
 * `OrionApi` (and the few domain constants the pages list), served to the browser as the virtual module
 * `virtual:orion-api` — so the page carries a table of routes derived from the definition, not Effect and its Schemas.
 */
import * as HttpMethod from "@effect/platform/HttpMethod"
import type { Plugin } from "vite"
import { OrionApi } from "../src/api/api.js"
import { emptyStateDetails, States, StateTypes } from "../src/domain/state.js"
import { MAX_SUMMARY_PAGE } from "../src/domain/task-run-summary.js"

/** How the browser's client calls one endpoint: its method, its path (`:name` for a path parameter), and whether the payload is a JSON body or the query. */
export interface Route {
  readonly method: string
  readonly path: string
  readonly body: boolean
}

/** Every endpoint of `OrionApi`, by group and endpoint name, as `HttpApiClient` would call it. */
export const routeTable = (): Record<string, Record<string, Route>> =>
  Object.fromEntries(Object.values(OrionApi.groups).map((group) => [
    group.identifier,
    Object.fromEntries(Object.values(group.endpoints).map((e) => [e.name, { method: e.method, path: e.path, body: HttpMethod.hasBody(e.method) }]))
  ]))

/** What `virtual:orion-api` exports (its types are in ui/src/orion-api.d.ts). */
export const orionApiModuleValues = () => ({
  routes: routeTable(),
  stateTypes: StateTypes,
  stateNames: Object.keys(States),
  emptyStateDetails,
  maxSummaryPage: MAX_SUMMARY_PAGE
})

/**
 * The source of `virtual:orion-api`: each value as `JSON.parse` of its JSON text (quicker for the browser to read than a
 * literal, and kept verbatim by the minifier — a test finds the route table in the built files).
 */
export const orionApiModuleSource = () =>
  Object.entries(orionApiModuleValues()).map(([name, value]) => `export const ${name} = JSON.parse(${JSON.stringify(JSON.stringify(value))})`).join("\n")

const ID = "virtual:orion-api"

/** The vite plugin that serves `virtual:orion-api`. */
export const orionApiModule: Plugin = {
  name: "orion-api-module",
  resolveId: (source) => (source === ID ? `\0${ID}` : null),
  load: (id) => (id === `\0${ID}` ? orionApiModuleSource() : null)
}
