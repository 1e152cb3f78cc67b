/**
 * The dashboard: flow-run counts by state over a chosen time range, the run-history chart, recent failures, late runs
 * and the server's services — each refreshed when a live event says a flow run was created or changed state.
 */
import { A } from "@solidjs/router"
import { createResource, createSignal, For, Show } from "solid-js"
import type { FlowRunSummary as Summary } from "../../../src/domain/flow-run-summary.js"
import type { ServiceStatus as Status } from "../../../src/domain/service-status.js"

type FlowRunSummary = Wire<Summary>
type ServiceStatus = Wire<Status>
import { call, type Wire } from "../api.js"
import { Card, EmptyState, ErrorBox, ok, StateBadge } from "../components/common.js"
import { HistoryChart } from "../components/HistoryChart.js"
import { formatDuration, formatTime, STATE_TYPES, stateVar } from "../format.js"
import { coalesce, onLive } from "../live.js"

export const RANGES = [
  { label: "Last hour", seconds: 3600 },
  { label: "Last 24 hours", seconds: 86400 },
  { label: "Last 7 days", seconds: 7 * 86400 },
  { label: "Last 30 days", seconds: 30 * 86400 }
] as const

const BUCKETS = 30

export default function Dashboard() {
  const [range, setRange] = createSignal<number>(86400)
  const window = () => {
    const end = new Date(Date.now() + 60_000)
    return { start: new Date(end.getTime() - range() * 1000), end }
  }

  const [counts, { refetch: refetchCounts }] = createResource(range, async () => {
    const { start, end } = window()
    const time = { expected_start_time: { after_: start, before_: end } }
    const perType = await Promise.all(STATE_TYPES.map((type) =>
      call((c) => c.flow_runs.count({ payload: { flow_runs: { ...time, state: { type: { any_: [type] } } } } }))))
    const late = await call((c) => c.flow_runs.count({ payload: { flow_runs: { state: { name: { any_: ["Late"] } } } } }))
    return { perType: STATE_TYPES.map((type, i) => ({ type, n: perType[i]! })), late }
  })
  const [history, { refetch: refetchHistory }] = createResource(range, () => {
    const { start, end } = window()
    return call((c) => c.flow_runs.history({
      payload: { history_start: start, history_end: end, history_interval_seconds: Math.max(1, Math.round(range() / BUCKETS)) }
    }))
  })
  const recent = (filter: Record<string, unknown>, sort: "END_TIME_DESC" | "EXPECTED_START_TIME_ASC") =>
    createResource(range, () => call((c) => c.flow_runs.summaries({ payload: { flow_runs: filter as any, sort, limit: 10, offset: 0 } })))
  const [failures, { refetch: refetchFailures }] = recent({ state: { type: { any_: ["FAILED", "CRASHED"] } } }, "END_TIME_DESC")
  const [late, { refetch: refetchLate }] = recent({ state: { name: { any_: ["Late"] } } }, "EXPECTED_START_TIME_ASC")
  const [flows, { refetch: refetchFlows }] = createResource(() => call((c) => c.flows.filter({ payload: { limit: 200, offset: 0 } })))
  const [services, { refetch: refetchServices }] = createResource(() => call((c) => c.admin.services()))
  // A run of a flow this page has not seen yet (a script's first run): the flows' names are read again.
  const newFlow = coalesce(() => void refetchFlows(), 100)
  const flowName = (id: string) => ok(flows)?.find((f) => f.id === id)?.name ?? "…"

  const refresh = coalesce(() => {
    void refetchCounts()
    void refetchHistory()
    void refetchFailures()
    void refetchLate()
    void refetchServices()
  }, 300)
  onLive((e) => {
    if (e.event === "flow_run.created" && !(ok(flows) ?? []).some((f) => f.id === e.payload.flow_id)) newFlow()
    if (e.event === "flow_run.created" || e.event === "flow_run.state_changed") refresh()
  })

  const total = () => ok(counts)?.perType.reduce((n, c) => n + c.n, 0) ?? 0

  const RunTable = (props: { runs: ReadonlyArray<FlowRunSummary> | undefined; when: (r: FlowRunSummary) => string; empty: string }) => (
    <Show when={(props.runs?.length ?? 0) > 0} fallback={<p class="muted">{props.empty}</p>}>
      <table>
        <thead><tr><th>Flow run</th><th>State</th><th>When</th><th>Duration</th></tr></thead>
        <tbody>
          <For each={props.runs}>
            {(r) => (
              <tr>
                <td><span class="muted">{flowName(r.flow_id)} › </span><A href={`/flow-run/${r.id}`}>{r.name}</A></td>
                <td><StateBadge type={r.state_type} name={r.state_name} /></td>
                <td>{props.when(r)}</td>
                <td>{formatDuration(r.estimated_run_time)}</td>
              </tr>
            )}
          </For>
        </tbody>
      </table>
    </Show>
  )

  return (
    <>
      <div class="card-head">
        <h1>Dashboard</h1>
        <label>
          <span class="muted">Time range </span>
          <select value={range()} onChange={(e) => setRange(Number(e.currentTarget.value))} aria-label="Time range">
            <For each={RANGES}>{(r) => <option value={r.seconds}>{r.label}</option>}</For>
          </select>
        </label>
      </div>
      <ErrorBox error={counts.error ?? history.error} />
      <section aria-label="Flow runs by state" class="grid" data-testid="state-counts">
        <For each={ok(counts)?.perType ?? []}>
          {(c) => (
            <A class="counter" style={{ "--c": stateVar(c.type) }} href={`/flow-runs?state=${c.type}&range=${range()}`} data-testid={`count-${c.type}`}>
              <span class="n">{c.n}</span><span class="label">{c.type.toLowerCase()}</span>
            </A>
          )}
        </For>
        <A class="counter" style={{ "--c": stateVar("SCHEDULED") }} href="/flow-runs?name=Late" data-testid="count-late">
          <span class="n">{ok(counts)?.late ?? "…"}</span><span class="label">late (now)</span>
        </A>
      </section>
      <Show when={ok(counts) !== undefined && total() === 0 && (ok(counts)?.late ?? 0) === 0}>
        <EmptyState title="No flow runs in this time range yet." />
      </Show>
      <Card title="Run history">
        <Show when={ok(history)} fallback={<p class="muted">Loading…</p>}>
          {(h) => <HistoryChart intervals={h()} />}
        </Show>
      </Card>
      <div class="two">
        <Card title="Recent failures">
          <ErrorBox error={failures.error} />
          <RunTable runs={ok(failures)} when={(r) => formatTime(r.end_time)} empty="No failed runs." />
        </Card>
        <Card title="Late runs">
          <ErrorBox error={late.error} />
          <RunTable runs={ok(late)} when={(r) => `expected ${formatTime(r.expected_start_time)}`} empty="No late runs." />
        </Card>
      </div>
      <Card title="Services">
        <ErrorBox error={services.error} />
        <ServicesTable services={ok(services)} />
      </Card>
    </>
  )
}

/** The server's services and how each is doing (`GET /api/admin/services`). */
const ServicesTable = (props: { services: ReadonlyArray<ServiceStatus> | undefined }) => (
  <Show when={(props.services?.length ?? 0) > 0} fallback={
    <p class="muted">{props.services === undefined ? "Loading…" : "This server runs no services (it was started with --no-services): nothing schedules, marks late or detects crashed runs here."}</p>
  }>
    <table data-testid="services">
      <thead><tr><th>Service</th><th>State</th><th>Last loop</th><th>Next due</th><th>Restarts</th><th>Last error</th></tr></thead>
      <tbody>
        <For each={props.services}>
          {(s) => (
            <tr>
              <td title={s.description}>{s.name}</td>
              <td><span class={`service-state ${s.state}`}>{s.state}</span></td>
              <td>{s.last_loop === null ? "—" : `${formatTime(s.last_loop)}${s.last_loop_ms === null ? "" : ` (${Math.round(s.last_loop_ms)} ms)`}`}</td>
              <td>{s.next_due === null ? "—" : formatTime(s.next_due)}</td>
              <td>{s.restarts}</td>
              <td>{s.last_error === null ? "—" : <span class="error-text" title={s.last_error}>{formatTime(s.last_error_time)}: {s.last_error.slice(0, 120)}</span>}</td>
            </tr>
          )}
        </For>
      </tbody>
    </table>
  </Show>
)
