/** Saved searches of the flow-runs page (`/api/saved_searches`): save the current filter under a name, apply one, delete one. */
import { createResource, createSignal, For, Show } from "solid-js"
import { call, uuid } from "../api.js"
import { ErrorBox, ok } from "./common.js"

/** The filter of the flow-runs page as its URL's search parameters; a saved search keeps them under this key. */
export type Query = Record<string, string>
const KEY = "flow_runs_query"

export const SavedSearches = (props: { current: () => Query; apply: (q: Query) => void }) => {
  const [searches, { refetch }] = createResource(() => call((c) => c.saved_searches.filter({ payload: { limit: 200, offset: 0 } })))
  const [name, setName] = createSignal("")
  const [selected, setSelected] = createSignal("")
  const [error, setError] = createSignal<unknown>()
  const act = async (work: () => Promise<unknown>) => {
    setError(undefined)
    try {
      await work()
      await refetch()
    } catch (e) {
      setError(e)
    }
  }
  const save = (e: SubmitEvent) => {
    e.preventDefault()
    if (name().trim() === "") return setError(new Error("Give the search a name."))
    void act(async () => {
      const saved = await call((c) => c.saved_searches.create({ payload: { name: name().trim(), filters: { [KEY]: props.current() } } }))
      setSelected(saved.id)
      setName("")
    })
  }
  const apply = () => {
    const s = ok(searches)?.find((x) => x.id === selected())
    const q = s?.filters[KEY]
    if (q !== null && typeof q === "object") props.apply(q as Query)
  }
  return (
    <div class="filters">
      <form class="filters" onSubmit={save}>
        <div>
          <label for="ss-name">Save this filter as</label>
          <input id="ss-name" value={name()} onInput={(e) => setName(e.currentTarget.value)} />
        </div>
        <button type="submit">Save</button>
      </form>
      <div>
        <label for="ss-list">Saved search</label>
        <select id="ss-list" value={selected()} onChange={(e) => setSelected(e.currentTarget.value)}>
          <option value="">—</option>
          <For each={ok(searches) ?? []}>{(s) => <option value={s.id}>{s.name}</option>}</For>
        </select>
      </div>
      <button type="button" disabled={selected() === ""} onClick={apply}>Apply</button>
      <button type="button" disabled={selected() === ""} onClick={() => void act(async () => {
        await call((c) => c.saved_searches.delete({ path: { id: uuid(selected()) } }))
        setSelected("")
      })}>Delete</button>
      <Show when={error() ?? searches.error}><ErrorBox error={error() ?? searches.error} /></Show>
    </div>
  )
}
