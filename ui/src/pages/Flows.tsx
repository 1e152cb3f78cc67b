/** Flows: every flow with its number of runs and its latest run, each linking to its filtered flow-run list. */
import { A } from "@solidjs/router"
import { createResource, For, Show } from "solid-js"
import { call } from "../api.js"
import { EmptyState, ErrorBox, ok, StateBadge } from "../components/common.js"
import { formatTime } from "../format.js"
import { coalesce, onLive } from "../live.js"

export default function Flows() {
  const [flows, { refetch }] = createResource(async () => {
    const list = await call((c) => c.flows.filter({ payload: { limit: 200, offset: 0 } }))
    return Promise.all(list.map(async (flow) => {
      const only = { flows: { id: { any_: [flow.id] } } }
      const [count, latest] = await Promise.all([
        call((c) => c.flow_runs.count({ payload: only })),
        call((c) => c.flow_runs.summaries({ payload: { ...only, sort: "ID_DESC", limit: 1, offset: 0 } }))
      ])
      return { flow, count, latest: latest[0] }
    }))
  })
  const again = coalesce(() => void refetch(), 500)
  onLive((e) => {
    if (e.event === "flow_run.created" || e.event === "flow_run.state_changed") again()
  })
  return (
    <>
      <h1>Flows</h1>
      <ErrorBox error={flows.error} />
      <Show when={ok(flows) !== undefined && ok(flows)!.length === 0}><EmptyState title="No flows yet." /></Show>
      <Show when={(ok(flows)?.length ?? 0) > 0}>
        <table data-testid="flows">
          <thead><tr><th>Flow</th><th>Tags</th><th>Runs</th><th>Latest run</th><th>Created</th></tr></thead>
          <tbody>
            <For each={ok(flows)}>
              {(f) => (
                <tr>
                  <td><A href={`/flow-runs?flow=${f.flow.id}`}>{f.flow.name}</A></td>
                  <td>{f.flow.tags.join(", ")}</td>
                  <td>{f.count}</td>
                  <td>
                    <Show when={f.latest} fallback="—">
                      {(r) => <><A href={`/flow-run/${r().id}`}>{r().name}</A> <StateBadge type={r().state_type} name={r().state_name} /></>}
                    </Show>
                  </td>
                  <td>{formatTime(f.flow.created)}</td>
                </tr>
              )}
            </For>
          </tbody>
        </table>
      </Show>
    </>
  )
}
