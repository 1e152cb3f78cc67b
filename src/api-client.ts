/**
 * The package's `./client` entry: the typed client of Orion's REST API (`makeOrionClient`) and the API definition it
 * is derived from. Kept out of the main entry, so a flow script never loads the HTTP stack it does not use.
 */
import "./domain/wire-parsers.js"
export { OrionApi } from "./api/api.js"
export { makeOrionClient, type OrionApiClient, type OrionClientOptions } from "./client/typed.js"
