/**
 * The API key the dashboard sends (empty: none), kept in this browser's localStorage. Its own module, free of Effect and
 * the API definition, so the shell (navigation, live status) paints before the typed client has loaded.
 */
import { createSignal } from "solid-js"
import { KEY_STORAGE, storedApiKey } from "./stored-api-key.js"

const [apiKey, setApiKeySignal] = createSignal<string>(storedApiKey())
export { apiKey }
export const setApiKey = (key: string) => {
  const trimmed = key.trim()
  if (trimmed === "") localStorage.removeItem(KEY_STORAGE)
  else localStorage.setItem(KEY_STORAGE, trimmed)
  setApiKeySignal(trimmed)
}
