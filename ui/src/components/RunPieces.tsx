/** What the flow-run and task-run pages share: the decision trail, the live log view, and the set-state form with the orchestrator's answer. */
import { createResource, createSignal, For, Show } from "solid-js"
import type { Decision as DecisionType, OrchestrationResult as Result } from "../../../src/domain/orchestration.js"
import type { StateType } from "../../../src/domain/state.js"
import { emptyStateDetails } from "virtual:orion-api"
import { call, uuid, type Wire } from "../api.js"
import { formatTime, levelName, STATE_TYPES } from "../format.js"
import { coalesce, onLive } from "../live.js"
import { ErrorBox, ok, StateBadge } from "./common.js"
import { VirtualRows } from "./VirtualRows.js"

type Decision = Wire<DecisionType>
type OrchestrationResult = Wire<Result>

/** Every decision of the orchestrator on a run, oldest first: what was proposed, what was decided, by which rule and why. */
export const DecisionTrail = (props: { decisions: ReadonlyArray<Decision> | undefined }) => (
  <Show when={(props.decisions?.length ?? 0) > 0} fallback={<p class="muted">No decisions recorded.</p>}>
    <table data-testid="decisions">
      <thead><tr><th>When</th><th>From</th><th>Proposed</th><th>Decision</th><th>Stored</th><th>Rule</th><th>Reason</th></tr></thead>
      <tbody>
        <For each={props.decisions}>
          {(d) => (
            <tr class={d.status === "REJECT" || d.status === "ABORT" ? "decision-rejected" : d.status === "WAIT" ? "decision-wait" : ""}>
              <td>{formatTime(d.timestamp)}</td>
              <td>{d.from_type?.toLowerCase() ?? "—"}</td>
              <td>{d.proposed_name}{d.forced ? " (forced)" : ""}</td>
              <td><strong>{d.status}</strong></td>
              <td><Show when={d.state_type} fallback="—"><StateBadge type={d.state_type} name={d.state_name} /></Show></td>
              <td class="mono">{d.rule ?? "—"}</td>
              <td>{d.reason ?? (d.rules.length > 0 ? <span class="muted">rules: {d.rules.join(", ")}</span> : "—")}</td>
            </tr>
          )}
        </For>
      </tbody>
    </table>
  </Show>
)

interface LogLine {
  readonly key: string
  readonly level: number
  readonly timestamp: string
  readonly name: string
  readonly message: string
}

const LEVELS = [{ v: 0, l: "All levels" }, { v: 10, l: "Debug and above" }, { v: 20, l: "Info and above" }, { v: 30, l: "Warning and above" }, { v: 40, l: "Error and above" }]
const LOG_PAGE = 200
const MAX_LOG_PAGES = 50

/** A run's logs from the server at or above a chosen level, then new lines live as they are written. */
export const Logs = (props: { flowRunId: string; taskRunId?: string }) => {
  const [level, setLevel] = createSignal(0)
  const [live, setLive] = createSignal<Array<LogLine>>([])
  const [stored] = createResource(level, async (ge) => {
    setLive([])
    const out: Array<LogLine> = []
    for (let page = 0; page < MAX_LOG_PAGES; page++) {
      const logs = await call((c) => c.logs.filter({
        payload: {
          logs: {
            flow_run_id: { any_: [uuid(props.flowRunId)] },
            ...(props.taskRunId !== undefined ? { task_run_id: { any_: [uuid(props.taskRunId)] } } : {}),
            ...(ge > 0 ? { level: { ge_: ge } } : {})
          },
          sort: "TIMESTAMP_ASC",
          limit: LOG_PAGE,
          offset: page * LOG_PAGE
        }
      }))
      for (const l of logs) out.push({ key: l.id, level: l.level, timestamp: formatTime(l.timestamp), name: l.name, message: l.message })
      if (logs.length < LOG_PAGE) break
    }
    return out
  })
  onLive((e) => {
    if (e.event !== "log" || e.flow_run_id !== props.flowRunId) return
    if (props.taskRunId !== undefined && e.task_run_id !== props.taskRunId) return
    if (stored.loading || e.payload.level < level()) return
    setLive((lines) => [...lines, { key: `e${e.id}`, level: e.payload.level, timestamp: formatTime(e.payload.timestamp), name: e.payload.name, message: e.payload.message }])
  })
  const lines = () => {
    const s = ok(stored) ?? []
    const seen = new Set(s.map((l) => `${l.timestamp}|${l.message}`))
    return [...s, ...live().filter((l) => !seen.has(`${l.timestamp}|${l.message}`))]
  }
  return (
    <div>
      <div class="actions">
        <label for={`level-${props.taskRunId ?? props.flowRunId}`}>Level</label>
        <select id={`level-${props.taskRunId ?? props.flowRunId}`} value={level()} onChange={(e) => setLevel(Number(e.currentTarget.value))}>
          <For each={LEVELS}>{(l) => <option value={l.v}>{l.l}</option>}</For>
        </select>
        <span class="muted" data-testid="log-count">{lines().length} lines</span>
      </div>
      <ErrorBox error={stored.error} />
      <Show when={lines().length > 0} fallback={<p class="muted">No logs{level() > 0 ? " at this level" : ""}.</p>}>
        <VirtualRows items={lines()} rowHeight={20} height={Math.min(360, lines().length * 20 + 4)} label="Logs" testId="logs"
          row={(l) => (
            <div class="log mono" data-level={levelName(l.level)} title={l.message}>
              <span class="muted">{l.timestamp}</span><span>{levelName(l.level)}</span><span>{l.message}</span>
            </div>
          )} />
      </Show>
    </div>
  )
}

/** A run's decisions, read again whenever a live event says its state changed. */
export const useDecisions = (kind: "flow_runs" | "task_runs", id: () => string) => {
  const [decisions, { refetch }] = createResource(id, (runId) => call((c) => c[kind].decisions({ path: { id: uuid(runId) } })))
  const again = coalesce(() => void refetch(), 100)
  onLive((e) => {
    const runId = kind === "flow_runs" ? (e.event === "flow_run.state_changed" ? e.flow_run_id : null) : (e.event === "task_run.state_changed" ? e.task_run_id : null)
    if (runId === id()) again()
  })
  return [decisions, again] as const
}

/** The orchestrator's answer to a proposal, in words. */
export const Answer = (props: { result: OrchestrationResult }) => {
  const d = props.result.details
  const reason = "reason" in d ? d.reason : null
  return (
    <div class="answer" role="status" data-testid="answer">
      <strong>{props.result.status}</strong>
      <Show when={props.result.state}>{(s) => <> — now <StateBadge type={s().type} name={s().name} /></>}</Show>
      <Show when={d.type === "wait_details"}> — retry in {(d as { delay_seconds: number }).delay_seconds} s</Show>
      <Show when={reason}><div>{reason}</div></Show>
    </div>
  )
}

/** Proposes any state, optionally forced, and shows what the orchestrator answered. */
export const SetStateForm = (props: { kind: "flow_runs" | "task_runs"; id: string; onAnswer?: (r: OrchestrationResult) => void }) => {
  const [type, setType] = createSignal<StateType>("COMPLETED")
  const [message, setMessage] = createSignal("")
  const [force, setForce] = createSignal(false)
  const [answer, setAnswer] = createSignal<OrchestrationResult>()
  const [error, setError] = createSignal<unknown>()
  const [busy, setBusy] = createSignal(false)
  const submit = async (e: SubmitEvent) => {
    e.preventDefault()
    setBusy(true)
    setError(undefined)
    try {
      const result = await call((c) => c[props.kind].setState({
        path: { id: uuid(props.id) },
        payload: { state: { type: type(), name: null, message: message() || null, data: null, state_details: emptyStateDetails }, force: force() }
      }))
      setAnswer(result)
      props.onAnswer?.(result)
    } catch (err) {
      setError(err)
    } finally {
      setBusy(false)
    }
  }
  return (
    <form onSubmit={submit} aria-label="Set state">
      <div class="actions">
        <label for={`set-type-${props.id}`}>New state</label>
        <select id={`set-type-${props.id}`} value={type()} onChange={(e) => setType(e.currentTarget.value as StateType)}>
          <For each={STATE_TYPES}>{(t) => <option value={t}>{t.toLowerCase()}</option>}</For>
        </select>
        <label for={`set-msg-${props.id}`}>Message</label>
        <input id={`set-msg-${props.id}`} value={message()} onInput={(e) => setMessage(e.currentTarget.value)} />
        <label><input type="checkbox" checked={force()} onChange={(e) => setForce(e.currentTarget.checked)} /> force (skip the rules)</label>
        <button type="submit" disabled={busy()}>Propose</button>
      </div>
      <ErrorBox error={error()} />
      <Show when={answer()}>{(a) => <Answer result={a()} />}</Show>
    </form>
  )
}
