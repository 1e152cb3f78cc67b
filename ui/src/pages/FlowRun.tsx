/**
 * One flow run: its state, times, parameters and tags; the timeline of its task runs, which moves live; its task runs,
 * logs (live tail, level filter) and the orchestrator's decision trail; and actions — cancel, retry, set state — each
 * showing the orchestrator's answer.
 */
import { A, useNavigate, useParams, useSearchParams } from "@solidjs/router"
import { createMemo, createResource, createSignal, For, Show } from "solid-js"
import type { OrchestrationResult as Result } from "../../../src/domain/orchestration.js"

type OrchestrationResult = Wire<Result>
import type { TaskRunSummaryPage } from "../../../src/domain/task-run-summary.js"
import { emptyStateDetails, maxSummaryPage as MAX_SUMMARY_PAGE } from "virtual:orion-api"
import { call, uuid, type Wire } from "../api.js"
import { Card, EmptyState, ErrorBox, ok, onTabKeys, StateBadge } from "../components/common.js"
import { Answer, DecisionTrail, Logs, SetStateForm, useDecisions } from "../components/RunPieces.js"
import { Graph } from "../components/Graph.js"
import { type Bar, Timeline } from "../components/Timeline.js"
import { VirtualRows } from "../components/VirtualRows.js"
import { formatDuration, formatTime, isTerminal, STATE_TYPES } from "../format.js"
import { early, FIRST_TASK_PAGE, keys } from "../first-requests.js"
import { coalesce, type LiveEvent, onLive } from "../live.js"

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

const TABS = [["decisions", "State history and decisions"], ["tasks", "Task runs"], ["graph", "Dependency graph"], ["logs", "Logs"]] as const

export default function FlowRunPage() {
  const params = useParams<{ id: string }>()
  const navigate = useNavigate()
  const id = () => params.id

  // The first answers may have been asked for before this page loaded (first-requests.ts); a refetch always asks anew.
  const [run, { refetch: refetchRun }] = createResource(id, (runId) =>
    early(keys.flowRun(runId), () => call((c) => c.flow_runs.get({ path: { id: uuid(runId) } }))))
  const [flow] = createResource(() => ok(run)?.flow_id, (flowId) => call((c) => c.flows.get({ path: { id: flowId } })))
  const [decisions] = useDecisions("flow_runs", id)

  // Task runs in a plain Map, with one signal that says it changed: a reactive store would track every field of ten
  // thousand rows each time the list is sorted.
  const tasks = new Map<string, TaskRow>()
  const [taskVersion, setTaskVersion] = createSignal(0)
  const tasksChanged = () => setTaskVersion((v) => v + 1)
  const [taskError, setTaskError] = createSignal<unknown>()
  const [tasksLoaded, setTasksLoaded] = createSignal(false)
  // Summaries (name, state, times) a page at a time, each page shown as it arrives; a run the live feed told of while
  // the pages loaded is newer than its page and is kept.
  const loadTasks = async (runId: string) => {
    tasks.clear()
    tasksChanged()
    setTasksLoaded(false)
    setTaskError(undefined)
    const page = (after: string | undefined, limit: number): Promise<TaskRunSummaryPage> => {
      const read = () => call((c) => c.flow_runs.taskRunSummaries({ path: { id: uuid(runId) }, urlParams: { limit, ...(after === undefined ? {} : { after: uuid(after) }) } }))
      return after === undefined ? early(keys.taskRunSummaries(runId, limit), read) : read()
    }
    try {
      // A small first page and, at the same time, a full one from the start (it repeats the first's rows): the first
      // rows show as soon as the small page is read, and the rest is not one round trip later.
      // The small page is asked for first: the server answers requests in turn, and it is the one the first rows wait for.
      let next: Promise<TaskRunSummaryPage> | undefined = page(undefined, FIRST_TASK_PAGE)
      const full = page(undefined, MAX_SUMMARY_PAGE)
      full.catch(() => undefined)
      let small = true
      while (next !== undefined) {
        const batch: TaskRunSummaryPage = await next
        if (runId !== id()) return
        // The next page is asked for before this one is shown: the server reads it while the browser draws.
        next = small && batch.next_after !== null ? full : batch.next_after === null ? undefined : page(batch.next_after, MAX_SUMMARY_PAGE)
        small = false
        next?.catch(() => undefined)
        const { id: ids, name, state_type, state_name, start_time, end_time, created } = batch
        for (let i = 0; i < ids.length; i++) {
          const taskId = ids[i]!
          if (!tasks.has(taskId)) tasks.set(taskId, { id: taskId, name: name[i]!, type: state_type[i]!, stateName: state_name[i]!, start: start_time[i]!, end: end_time[i]!, created: created[i]! })
        }
        tasksChanged()
      }
      setTasksLoaded(true)
    } catch (e) {
      setTaskError(e)
    }
  }
  createResource(id, loadTasks)

  /** A task run's event applied to its row (a new row for a run not seen yet). */
  const applyTaskEvent = (e: LiveEvent) => {
    const taskId = e.task_run_id!
    const state = e.payload.state as { type: string; name: string; timestamp: string } | null
    const at = state === null ? null : Date.parse(state.timestamp)
    const known = tasks.get(taskId)
    if (known === undefined) {
      tasks.set(taskId, { id: taskId, name: e.payload.name ?? taskId.slice(0, 8), type: state?.type ?? null, stateName: state?.name ?? null, start: state?.type === "RUNNING" ? at : null, end: null, created: Date.parse(e.occurred) })
    } else if (state !== null) {
      tasks.set(taskId, {
        ...known,
        type: state.type,
        stateName: state.name,
        ...(state.type === "RUNNING" && known.start === null ? { start: at } : {}),
        ...(isTerminal(state.type) ? { end: at, start: known.start ?? at } : {})
      })
    }
  }
  // A flow of thousands of task runs sends thousands of events a second: they are applied together, once per 100 ms,
  // so the list is sorted and the timeline drawn once per burst rather than once per event.
  let pendingTaskEvents: Array<LiveEvent> = []
  const flushTaskEvents = coalesce(() => {
    const events = pendingTaskEvents
    pendingTaskEvents = []
    events.forEach(applyTaskEvent)
    tasksChanged()
  }, 100)

  const refreshRun = coalesce(() => void refetchRun(), 100)
  onLive((e) => {
    if (e.flow_run_id !== id()) return
    if (e.event === "flow_run.state_changed") refreshRun()
    if (e.event === "task_run.created" || e.event === "task_run.state_changed") {
      pendingTaskEvents.push(e)
      flushTaskEvents()
    }
  })

  const rows = createMemo(() => {
    taskVersion()
    return [...tasks.values()].sort((a, b) => (a.start ?? a.created) - (b.start ?? b.created) || a.created - b.created)
  })
  const bars = createMemo((): Array<Bar> => rows().map((r) => ({ id: r.id, name: r.name, type: r.type, start: r.start, end: r.end })))

  // The open section is kept in the URL (`?tab=tasks`), so a link can open it.
  const [search, setSearch] = useSearchParams<{ tab?: string }>()
  type Tab = (typeof TABS)[number][0]
  const tab = (): Tab => TABS.find(([k]) => k === search.tab)?.[0] ?? "decisions"
  const setTab = (next: Tab) => setSearch({ tab: next === "decisions" ? undefined : next }, { replace: true })
  const [taskQuery, setTaskQuery] = createSignal("")
  const [taskState, setTaskState] = createSignal("")
  const shownRows = createMemo(() => {
    const q = taskQuery().trim().toLowerCase()
    const type = taskState()
    if (q === "" && type === "") return rows()
    return rows().filter((r) => (q === "" || r.name.toLowerCase().includes(q)) && (type === "" || r.type === type))
  })
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
          <Timeline bars={bars()} origin={(ok(run)?.start_time ?? null) === null ? null : Date.parse(ok(run)!.start_time!)} onOpen={(taskId) => navigate(`/task-run/${taskId}`)} />
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
            <form class="filters" aria-label="Filter task runs" onSubmit={(e) => e.preventDefault()}>
              <div>
                <label for="tr-name">Task run name contains</label>
                <input id="tr-name" type="search" value={taskQuery()} onInput={(e) => setTaskQuery(e.currentTarget.value)} />
              </div>
              <div>
                <label for="tr-state">State</label>
                <select id="tr-state" value={taskState()} onChange={(e) => setTaskState(e.currentTarget.value)}>
                  <option value="">Any state</option>
                  <For each={STATE_TYPES}>{(t) => <option value={t}>{t.toLowerCase()}</option>}</For>
                </select>
              </div>
              <span class="muted" data-testid="task-run-count">{shownRows().length} of {rows().length} task runs{tasksLoaded() ? "" : " (loading…)"}</span>
            </form>
            <VirtualRows items={shownRows()} rowHeight={30} height={Math.min(400, shownRows().length * 30 + 4)} label="Task runs" testId="task-runs"
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
          <Graph flowRunId={id()} version={() => (tasksLoaded() ? rows().length : undefined)} />
        </Show>
        <Show when={tab() === "logs"}>
          <Logs flowRunId={id()} />
        </Show>
      </section>
    </>
  )
}
