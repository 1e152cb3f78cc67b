/**
 * One flow run: its state, times, parameters and tags; the timeline of its task runs, which moves live; its task runs,
 * logs (live tail, level filter) and the orchestrator's decision trail; and actions — cancel, retry, set state — each
 * showing the orchestrator's answer.
 */
import { A, useNavigate, useParams } from "@solidjs/router"
import { createMemo, createResource, createSignal, For, Show } from "solid-js"
import { createStore, reconcile } from "solid-js/store"
import type { OrchestrationResult } from "../../../src/domain/orchestration.js"
import { emptyStateDetails } from "../../../src/domain/state.js"
import { call, uuid } from "../api.js"
import { Card, EmptyState, ErrorBox, ok, onTabKeys, StateBadge } from "../components/common.js"
import { Answer, DecisionTrail, Logs, SetStateForm, useDecisions } from "../components/RunPieces.js"
import { Graph } from "../components/Graph.js"
import { type Bar, Timeline } from "../components/Timeline.js"
import { VirtualRows } from "../components/VirtualRows.js"
import { formatDuration, formatTime, isTerminal } from "../format.js"
import { coalesce, onLive } from "../live.js"

/** A task run as the timeline and the list show it, kept up to date from live events. */
interface TaskRow {
  id: string
  name: string
  type: string | null
  stateName: string | null
  start: number | null
  end: number | null
  created: number
}

const TASK_PAGE = 200
const TABS = [["decisions", "State history and decisions"], ["tasks", "Task runs"], ["graph", "Dependency graph"], ["logs", "Logs"]] as const

export default function FlowRunPage() {
  const params = useParams<{ id: string }>()
  const navigate = useNavigate()
  const id = () => params.id

  const [run, { refetch: refetchRun }] = createResource(id, (runId) => call((c) => c.flow_runs.get({ path: { id: uuid(runId) } })))
  const [flow] = createResource(() => ok(run)?.flow_id, (flowId) => call((c) => c.flows.get({ path: { id: flowId } })))
  const [decisions] = useDecisions("flow_runs", id)

  const [tasks, setTasks] = createStore<Record<string, TaskRow>>({})
  const [taskError, setTaskError] = createSignal<unknown>()
  const loadTasks = async (runId: string) => {
    const rows: Record<string, TaskRow> = {}
    try {
      for (let page = 0; ; page++) {
        const batch = await call((c) => c.task_runs.filter({ payload: { flow_runs: { id: { any_: [uuid(runId)] } }, sort: "ID_DESC", limit: TASK_PAGE, offset: page * TASK_PAGE } }))
        for (const t of batch) {
          rows[t.id] = { id: t.id, name: t.name, type: t.state_type, stateName: t.state_name, start: t.start_time?.getTime() ?? null, end: t.end_time?.getTime() ?? null, created: t.created.getTime() }
        }
        if (batch.length < TASK_PAGE) break
      }
      setTasks(reconcile(rows))
    } catch (e) {
      setTaskError(e)
    }
  }
  createResource(id, loadTasks)

  const refreshRun = coalesce(() => void refetchRun(), 100)
  onLive((e) => {
    if (e.flow_run_id !== id()) return
    if (e.event === "flow_run.state_changed") refreshRun()
    if (e.event === "task_run.created" || e.event === "task_run.state_changed") {
      const taskId = e.task_run_id!
      const state = e.payload.state as { type: string; name: string; timestamp: string } | null
      const at = state === null ? null : Date.parse(state.timestamp)
      const known = tasks[taskId]
      if (known === undefined) {
        setTasks(taskId, { id: taskId, name: e.payload.name ?? taskId.slice(0, 8), type: state?.type ?? null, stateName: state?.name ?? null, start: state?.type === "RUNNING" ? at : null, end: null, created: Date.parse(e.occurred) })
      } else if (state !== null) {
        setTasks(taskId, {
          type: state.type,
          stateName: state.name,
          ...(state.type === "RUNNING" && known.start === null ? { start: at } : {}),
          ...(isTerminal(state.type) ? { end: at, start: known.start ?? at } : {})
        })
      }
    }
  })

  const rows = createMemo(() => Object.values(tasks).sort((a, b) => (a.start ?? a.created) - (b.start ?? b.created) || a.created - b.created))
  const bars = createMemo((): Array<Bar> => rows().map((r) => ({ id: r.id, name: r.name, type: r.type, start: r.start, end: r.end })))

  const [tab, setTab] = createSignal<"tasks" | "logs" | "decisions" | "graph">("decisions")
  const [answer, setAnswer] = createSignal<OrchestrationResult>()
  const [actionError, setActionError] = createSignal<unknown>()

  const cancel = async () => {
    setActionError(undefined)
    try {
      const type = ok(run)?.state_type === "RUNNING" ? "CANCELLING" : "CANCELLED"
      setAnswer(await call((c) => c.flow_runs.setState({
        path: { id: uuid(id()) },
        payload: { state: { type, name: null, message: "Cancelled from the Orion UI.", data: null, state_details: emptyStateDetails }, force: false }
      })))
    } catch (e) {
      setActionError(e)
    }
  }
  const retry = async () => {
    setActionError(undefined)
    const r = ok(run)
    if (r === undefined) return
    try {
      const created = await call((c) => c.flow_runs.create({
        payload: {
          flow_id: r.flow_id, deployment_id: r.deployment_id, flow_version: r.flow_version, parameters: r.parameters, context: {},
          empirical_policy: r.empirical_policy, tags: r.tags, name: null, idempotency_key: null, parent_task_run_id: null, state: null
        }
      }))
      navigate(`/flow-run/${created.id}`)
    } catch (e) {
      setActionError(e)
    }
  }

  return (
    <>
      <ErrorBox error={run.error} />
      <Show when={ok(run)}>
        {(r) => (
          <>
            <nav class="muted" aria-label="Breadcrumb"><A href="/flow-runs">Flow runs</A> › {ok(flow)?.name ?? "…"} › {r().name}</nav>
            <h1>
              {r().name} <span data-testid="run-state"><StateBadge type={r().state_type} name={r().state_name} /></span>
            </h1>
            <div class="two">
              <Card title="Details">
                <dl class="details">
                  <dt>Flow</dt><dd>{ok(flow)?.name ?? "…"}{r().flow_version ? ` (version ${r().flow_version})` : ""}</dd>
                  <dt>Run id</dt><dd class="mono">{r().id}</dd>
                  <dt>State</dt><dd><StateBadge type={r().state_type} name={r().state_name} /> {r().state?.message ?? ""}</dd>
                  <dt>Expected start</dt><dd>{formatTime(r().expected_start_time)}</dd>
                  <dt>Started</dt><dd>{formatTime(r().start_time)}</dd>
                  <dt>Ended</dt><dd>{formatTime(r().end_time)}</dd>
                  <dt>Duration</dt><dd>{formatDuration(r().total_run_time)}</dd>
                  <dt>Run count</dt><dd>{r().run_count}</dd>
                  <dt>Tags</dt><dd>{r().tags.length > 0 ? r().tags.join(", ") : "—"}</dd>
                  <Show when={r().parent_task_run_id}><dt>Subflow of</dt><dd><A href={`/task-run/${r().parent_task_run_id}`}>parent task run</A></dd></Show>
                </dl>
                <h2 style={{ "margin-top": "10px" }}>Parameters</h2>
                <pre class="mono" data-testid="parameters">{JSON.stringify(r().parameters, null, 2)}</pre>
              </Card>
              <Card title="Actions">
                <div class="actions">
                  <button type="button" onClick={cancel} disabled={isTerminal(r().state_type)}>Cancel</button>
                  <button type="button" onClick={retry}>Retry (a new run, same parameters)</button>
                </div>
                <ErrorBox error={actionError()} />
                <Show when={answer()}>{(a) => <Answer result={a()} />}</Show>
                <h2 style={{ "margin-top": "12px" }}>Set state</h2>
                <SetStateForm kind="flow_runs" id={r().id} />
              </Card>
            </div>
          </>
        )}
      </Show>
      <Card title={`Timeline (${rows().length} task runs)`}>
        <ErrorBox error={taskError()} />
        <Show when={rows().length > 0} fallback={<p class="muted">No task runs yet.</p>}>
          <Timeline bars={bars()} origin={ok(run)?.start_time?.getTime() ?? null} onOpen={(taskId) => navigate(`/task-run/${taskId}`)} />
        </Show>
      </Card>
      <section class="card">
        <div class="tabs" role="tablist" aria-label="Flow run sections" onKeyDown={onTabKeys(TABS.map(([k]) => k), tab, setTab)}>
          <For each={TABS}>
            {([key, label]) => (
              <button type="button" role="tab" aria-selected={tab() === key} tabindex={tab() === key ? 0 : -1} onClick={() => setTab(key)}>{label}</button>
            )}
          </For>
        </div>
        <Show when={tab() === "decisions"}>
          <ErrorBox error={decisions.error} />
          <DecisionTrail decisions={ok(decisions)} />
        </Show>
        <Show when={tab() === "tasks"}>
          <Show when={rows().length > 0} fallback={<EmptyState title="This flow run has no task runs." />}>
            <VirtualRows items={rows()} rowHeight={30} height={Math.min(400, rows().length * 30 + 4)} label="Task runs" testId="task-runs"
              row={(t) => (
                <div class="vrow" style={{ "grid-template-columns": "2fr 1fr 1fr 1fr", height: "30px" }}>
                  <A href={`/task-run/${t.id}`}>{t.name}</A>
                  <span><StateBadge type={t.type} name={t.stateName} /></span>
                  <span>{t.start === null ? "—" : formatTime(new Date(t.start))}</span>
                  <span>{t.start !== null && t.end !== null ? formatDuration((t.end - t.start) / 1000) : "—"}</span>
                </div>
              )} />
          </Show>
        </Show>
        <Show when={tab() === "graph"}>
          <Graph flowRunId={id()} names={(taskId) => tasks[taskId]?.name ?? taskId.slice(0, 8)} version={() => rows().length} />
        </Show>
        <Show when={tab() === "logs"}>
          <Logs flowRunId={id()} />
        </Show>
      </section>
    </>
  )
}
