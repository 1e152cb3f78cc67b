/**
 * The API key as this browser keeps it (localStorage; empty: none). Free of Solid, so that the client — and the early
 * requests of `first-requests.ts`, which run before the bundle — read it without loading the rest.
 */
export const KEY_STORAGE = "orion.apiKey"

export const storedApiKey = (): string => localStorage.getItem(KEY_STORAGE) ?? ""
