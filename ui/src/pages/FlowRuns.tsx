/**
 * Flow runs: filtered, sorted and paged by the server (flow, deployment, tags, state types and names, time range), the
 * filter kept in the URL; new runs and state changes appear live (the page is read again when an event says a flow run
 * changed).
 */
import { A, useNavigate, useSearchParams } from "@solidjs/router"
import { createMemo, createResource, createSignal, For, Show } from "solid-js"
import { call } from "../api.js"
import { EmptyState, ErrorBox, ok, onTabKeys, StateBadge } from "../components/common.js"
import { type Query, SavedSearches } from "../components/SavedSearches.js"
import { Scatter } from "../components/Scatter.js"
import { formatDuration, formatTime, STATE_NAMES, STATE_TYPES } from "../format.js"
import { early, keys } from "../first-requests.js"
import { coalesce, onLive } from "../live.js"
import { countPayload, flowRunsQuery, items, PAGE, pageOf, SORTS, sortOf, summariesPayload } from "./flow-runs-query.js"
import { RANGES } from "./Dashboard.js"

export default function FlowRuns() {
  const [params, setParams] = useSearchParams<{ flow?: string; deployment?: string; tags?: string; state?: string; name?: string; range?: string; sort?: string; page?: string }>()
  const states = () => items(params.state)
  const names = () => items(params.name)
  const page = () => pageOf(params)
  const sort = () => sortOf(params)
  const request = createMemo(() => flowRunsQuery(params, Date.now()))

  const [flows, { refetch: refetchFlows }] = createResource(() => call((c) => c.flows.names({ payload: { limit: 200, offset: 0 } })))
  // A run of a flow this page has not seen yet (a script's first run): the flows' names are read again.
  const newFlow = coalesce(() => void refetchFlows(), 100)
  const flowName = (id: string) => ok(flows)?.find((f) => f.id === id)?.name ?? "…"
  const [deployments] = createResource(() => call((c) => c.deployments.names({ payload: { limit: 200, offset: 0 } })))
  // The page of runs and their count, asked for together and shown together: the count never describes other rows
  // than those listed. The first answers may have been asked for before this page loaded (first-requests.ts); a
  // refetch always asks anew.
  const [listed, { refetch }] = createResource(request, (r) => {
    const summaries = summariesPayload(r)
    const counted = countPayload(r)
    return Promise.all([
      early(keys.flowRunSummaries(summaries), () => call((c) => c.flow_runs.summaries({ payload: summaries }))),
      early(keys.flowRunCount(counted), () => call((c) => c.flow_runs.count({ payload: counted })))
    ])
  })
  const runs = () => ok(listed)?.[0]
  const count = () => ok(listed)?.[1]

  const refresh = coalesce(() => void refetch(), 200)
  onLive((e) => {
    if (e.event === "flow_run.created" && !(ok(flows) ?? []).some((f) => f.id === e.payload.flow_id)) newFlow()
    if (e.event === "flow_run.created" || e.event === "flow_run.state_changed") refresh()
  })

  const toggleState = (type: string, on: boolean) => {
    const next = new Set(states())
    if (on) next.add(type)
    else next.delete(type)
    setParams({ state: [...next].join(",") || undefined, page: undefined })
  }
  const pages = () => Math.max(1, Math.ceil((count() ?? 0) / PAGE))
  const navigate = useNavigate()
  const [view, setView] = createSignal<"list" | "scatter">("list")
  const FIELDS = ["flow", "deployment", "tags", "state", "name", "range", "sort"] as const
  const currentQuery = (): Query => Object.fromEntries(FIELDS.flatMap((k) => (params[k] ? [[k, String(params[k])]] : [])))
  const applyQuery = (q: Query) => setParams({ ...Object.fromEntries(FIELDS.map((k) => [k, q[k] || undefined])), page: undefined })

  return (
    <>
      <h1>Flow runs <span class="muted" data-testid="run-count">{listed.loading && count() === undefined ? "" : `(${count() ?? 0})`}</span></h1>
      <form class="card filters" aria-label="Filters" onSubmit={(e) => e.preventDefault()}>
        <div>
          <label for="f-flow">Flow</label>
          <select id="f-flow" value={params.flow ?? ""} onChange={(e) => setParams({ flow: e.currentTarget.value || undefined, page: undefined })}>
            <option value="">All flows</option>
            <For each={ok(flows) ?? []}>{(f) => <option value={f.id} selected={params.flow === f.id}>{f.name}</option>}</For>
          </select>
        </div>
        <div>
          <label for="f-deployment">Deployment</label>
          <select id="f-deployment" value={params.deployment ?? ""} onChange={(e) => setParams({ deployment: e.currentTarget.value || undefined, page: undefined })}>
            <option value="">All deployments</option>
            <For each={ok(deployments) ?? []}>{(d) => <option value={d.id} selected={params.deployment === d.id}>{flowName(d.flow_id)} / {d.name}</option>}</For>
          </select>
        </div>
        <div>
          <label for="f-tags">Tags (all of, comma-separated)</label>
          <input id="f-tags" value={params.tags ?? ""} onChange={(e) => setParams({ tags: e.currentTarget.value || undefined, page: undefined })} />
        </div>
        <div>
          <label for="f-range">Expected start</label>
          <select id="f-range" value={params.range ?? ""} onChange={(e) => setParams({ range: e.currentTarget.value || undefined, page: undefined })}>
            <option value="">Any time</option>
            <For each={RANGES}>{(r) => <option value={r.seconds}>{r.label}</option>}</For>
          </select>
        </div>
        <div>
          <label for="f-sort">Sort</label>
          <select id="f-sort" value={sort()} onChange={(e) => setParams({ sort: e.currentTarget.value, page: undefined })}>
            <For each={SORTS}>{(s) => <option value={s.value}>{s.label}</option>}</For>
          </select>
        </div>
        <fieldset class="filters" style={{ border: "none", padding: 0, margin: 0 }}>
          <legend class="muted" style={{ "font-size": "12px" }}>States</legend>
          <For each={STATE_TYPES}>
            {(type) => (
              <label style={{ display: "inline-flex", gap: "4px", "align-items": "center", color: "var(--text)" }}>
                <input type="checkbox" checked={states().includes(type)} onChange={(e) => toggleState(type, e.currentTarget.checked)} />
                {type.toLowerCase()}
              </label>
            )}
          </For>
        </fieldset>
        <div>
          <label for="f-names">State names (any of)</label>
          <select id="f-names" multiple size={4}
            onChange={(e) => setParams({ name: [...e.currentTarget.selectedOptions].map((o) => o.value).join(",") || undefined, page: undefined })}>
            <For each={STATE_NAMES}>{(n) => <option value={n} selected={names().includes(n)}>{n}</option>}</For>
          </select>
        </div>
        <button type="button" onClick={() => setParams({ flow: undefined, deployment: undefined, tags: undefined, state: undefined, name: undefined, range: undefined, sort: undefined, page: undefined })}>Clear all</button>
      </form>
      <section class="card" aria-label="Saved searches"><SavedSearches current={currentQuery} apply={applyQuery} /></section>
      <div class="tabs" role="tablist" aria-label="View" onKeyDown={onTabKeys(["list", "scatter"] as const, view, setView)}>
        <button type="button" role="tab" aria-selected={view() === "list"} tabindex={view() === "list" ? 0 : -1} onClick={() => setView("list")}>List</button>
        <button type="button" role="tab" aria-selected={view() === "scatter"} tabindex={view() === "scatter" ? 0 : -1} onClick={() => setView("scatter")}>Scatter</button>
      </div>
      <ErrorBox error={listed.error} />
      <Show when={view() === "scatter" && runs() !== undefined}>
        <section class="card" aria-label="Scatter"><Scatter runs={runs()!} onOpen={(id) => navigate(`/flow-run/${id}`)} /></section>
      </Show>
      <Show when={runs() !== undefined && runs()!.length === 0 && !listed.error}>
        <EmptyState title="No flow runs match." />
      </Show>
      <Show when={(runs()?.length ?? 0) > 0}>
        <table data-testid="flow-runs">
          <thead><tr><th>Flow run</th><th>State</th><th>Tags</th><th>Expected start</th><th>Started</th><th>Duration</th></tr></thead>
          <tbody>
            <For each={runs()}>
              {(r) => (
                <tr data-run-id={r.id}>
                  <td><span class="muted">{flowName(r.flow_id)} › </span><A href={`/flow-run/${r.id}`}>{r.name}</A></td>
                  <td><StateBadge type={r.state_type} name={r.state_name} /></td>
                  <td>{r.tags.join(", ")}</td>
                  <td>{formatTime(r.expected_start_time)}</td>
                  <td>{formatTime(r.start_time)}</td>
                  <td>{formatDuration(r.estimated_run_time)}</td>
                </tr>
              )}
            </For>
          </tbody>
        </table>
        <nav class="pager" aria-label="Pages">
          <button type="button" disabled={page() === 0} onClick={() => setParams({ page: page() - 1 || undefined })}>← Newer</button>
          <span>Page {page() + 1} of {pages()}</span>
          <button type="button" disabled={page() + 1 >= pages()} onClick={() => setParams({ page: page() + 1 })}>Older →</button>
        </nav>
      </Show>
    </>
  )
}
