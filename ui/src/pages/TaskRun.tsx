/** One task run: its state with the decision trail, inputs (upstream task runs linked), cache key and expiry, result, retries and logs. */
import { A, useParams } from "@solidjs/router"
import { createResource, For, Show } from "solid-js"
import { call, uuid } from "../api.js"
import { Card, ErrorBox, ok, StateBadge } from "../components/common.js"
import { DecisionTrail, Logs, SetStateForm, useDecisions } from "../components/RunPieces.js"
import { formatDuration, formatTime } from "../format.js"
import { coalesce, onLive } from "../live.js"

export default function TaskRunPage() {
  const params = useParams<{ id: string }>()
  const id = () => params.id
  const [task, { refetch }] = createResource(id, (taskId) => call((c) => c.task_runs.get({ path: { id: uuid(taskId) } })))
  const [flowRun] = createResource(() => ok(task)?.flow_run_id, (runId) => call((c) => c.flow_runs.get({ path: { id: runId } })))
  const [decisions] = useDecisions("task_runs", id)
  const again = coalesce(() => void refetch(), 100)
  onLive((e) => {
    if (e.event === "task_run.state_changed" && e.task_run_id === id()) again()
  })

  return (
    <>
      <ErrorBox error={task.error} />
      <Show when={ok(task)}>
        {(t) => (
          <>
            <nav class="muted" aria-label="Breadcrumb">
              <A href="/flow-runs">Flow runs</A> › <A href={`/flow-run/${t().flow_run_id}`}>{ok(flowRun)?.name ?? "flow run"}</A> › {t().name}
            </nav>
            <h1>{t().name} <span data-testid="task-state"><StateBadge type={t().state_type} name={t().state_name} /></span></h1>
            <div class="two">
              <Card title="Details">
                <dl class="details">
                  <dt>Task key</dt><dd class="mono">{t().task_key}{t().dynamic_key ? ` [${t().dynamic_key}]` : ""}</dd>
                  <dt>State</dt><dd><StateBadge type={t().state_type} name={t().state_name} /> {t().state?.message ?? ""}</dd>
                  <dt>Started</dt><dd>{formatTime(t().start_time)}</dd>
                  <dt>Ended</dt><dd>{formatTime(t().end_time)}</dd>
                  <dt>Duration</dt><dd>{formatDuration(t().total_run_time)}</dd>
                  <dt>Runs</dt><dd>{t().run_count} (retries allowed: {String(t().empirical_policy.max_retries ?? 0)})</dd>
                  <dt>Cache key</dt><dd class="mono">{t().cache_key ?? "—"}</dd>
                  <dt>Cache expires</dt><dd>{formatTime(t().cache_expiration)}</dd>
                  <dt>Tags</dt><dd>{t().tags.length > 0 ? t().tags.join(", ") : "—"}</dd>
                </dl>
              </Card>
              <Card title="Inputs and result">
                <h2>Inputs</h2>
                <Show when={Object.keys(t().task_inputs).length > 0} fallback={<p class="muted">No tracked inputs.</p>}>
                  <ul>
                    <For each={Object.entries(t().task_inputs)}>
                      {([name, inputs]) => (
                        <li>
                          <span class="mono">{name}</span>:{" "}
                          <For each={inputs}>
                            {(input) => input.input_type === "task_run"
                              ? <A href={`/task-run/${input.id}`}>upstream task run {input.id.slice(0, 8)}</A>
                              : input.input_type === "parameter" ? <span>parameter <code>{input.name}</code> </span> : <span>constant ({input.type}) </span>}
                          </For>
                        </li>
                      )}
                    </For>
                  </ul>
                </Show>
                <h2>Result</h2>
                <pre class="mono" data-testid="result">{t().state?.data === null || t().state?.data === undefined ? "—" : JSON.stringify(t().state!.data, null, 2)}</pre>
              </Card>
            </div>
            <Card title="State history and decisions">
              <ErrorBox error={decisions.error} />
              <DecisionTrail decisions={ok(decisions)} />
              <h2 style={{ "margin-top": "12px" }}>Set state</h2>
              <SetStateForm kind="task_runs" id={t().id} />
            </Card>
            <Card title="Logs">
              <Logs flowRunId={t().flow_run_id} taskRunId={t().id} />
            </Card>
          </>
        )}
      </Show>
    </>
  )
}
