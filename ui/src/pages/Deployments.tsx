/**
 * Deployments: schedule and its state, the next scheduled runs, pause / resume, and Run with parameters through a form
 * generated from the deployment's parameters (a field per parameter, typed after its default; checked here, and
 * again by the server).
 */
import { A, useNavigate } from "@solidjs/router"
import { createResource, createSignal, For, Show } from "solid-js"
import type { Deployment as DeploymentType } from "../../../src/domain/deployment.js"
import type { Wire } from "../api.js"

type Deployment = Wire<DeploymentType>
import { call } from "../api.js"
import { EmptyState, ErrorBox, ok } from "../components/common.js"
import { formatTime } from "../format.js"
import { coalesce, onLive } from "../live.js"

const describeSchedule = (d: Deployment): string => {
  const s = d.schedule as Record<string, unknown> | null
  if (s === null) return "none"
  if (typeof s.interval === "number") return `every ${s.interval} s`
  if (typeof s.cron === "string") return `cron ${s.cron}`
  if (typeof s.rrule === "string") return `rrule ${s.rrule}`
  return JSON.stringify(s)
}

type Kind = "number" | "boolean" | "string" | "json"
const kindOf = (v: unknown): Kind => typeof v === "number" ? "number" : typeof v === "boolean" ? "boolean" : typeof v === "string" ? "string" : "json"

/** A field per parameter; values are parsed by their kind, and a wrong one is named before anything is sent. */
const RunForm = (props: { deployment: Deployment; onDone: () => void }) => {
  const navigate = useNavigate()
  const entries = Object.entries(props.deployment.parameters)
  const [values, setValues] = createSignal<Record<string, string>>(Object.fromEntries(entries.map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)])))
  const [error, setError] = createSignal<unknown>()
  const submit = async (e: SubmitEvent) => {
    e.preventDefault()
    setError(undefined)
    const parameters: Record<string, unknown> = {}
    for (const [key, def] of entries) {
      const raw = values()[key] ?? ""
      const kind = kindOf(def)
      if (kind === "string") parameters[key] = raw
      else {
        try {
          parameters[key] = JSON.parse(raw)
        } catch {
          return setError(new Error(`Parameter “${key}” must be ${kind === "json" ? "JSON" : `a ${kind}`}.`))
        }
        if (kind !== "json" && typeof parameters[key] !== kind) return setError(new Error(`Parameter “${key}” must be a ${kind}.`))
      }
    }
    try {
      const run = await call((c) => c.deployments.createFlowRun({
        path: { id: props.deployment.id },
        payload: { parameters, context: {}, tags: [], name: null, idempotency_key: null, state: null }
      }))
      props.onDone()
      navigate(`/flow-run/${run.id}`)
    } catch (err) {
      setError(err)
    }
  }
  return (
    <form onSubmit={submit} aria-label={`Run ${props.deployment.name} with parameters`} class="answer">
      <Show when={entries.length > 0} fallback={<p class="muted">This deployment takes no parameters.</p>}>
        <For each={entries}>
          {([key, def]) => (
            <div class="field">
              <label for={`p-${props.deployment.id}-${key}`}>{key} <span class="muted">({kindOf(def)})</span></label>
              <input id={`p-${props.deployment.id}-${key}`} value={values()[key] ?? ""} onInput={(e) => setValues({ ...values(), [key]: e.currentTarget.value })} />
            </div>
          )}
        </For>
      </Show>
      <ErrorBox error={error()} />
      <button type="submit" class="primary">Create run</button>
    </form>
  )
}

export default function Deployments() {
  const [deployments, { refetch }] = createResource(async () => {
    const list = await call((c) => c.deployments.filter({ payload: { limit: 200, offset: 0 } }))
    const flows = await call((c) => c.flows.filter({ payload: { flows: { id: { any_: [...new Set(list.map((d) => d.flow_id))] } }, limit: 200, offset: 0 } }))
    return Promise.all(list.map(async (d) => ({
      d,
      flow: flows.find((f) => f.id === d.flow_id)?.name ?? "…",
      next: await call((c) => c.flow_runs.summaries({
        payload: { deployments: { id: { any_: [d.id] } }, flow_runs: { state: { type: { any_: ["SCHEDULED"] } } }, sort: "NEXT_SCHEDULED_START_TIME_ASC", limit: 3, offset: 0 }
      }))
    })))
  })
  const [open, setOpen] = createSignal<string>()
  const [error, setError] = createSignal<unknown>()
  const again = coalesce(() => void refetch(), 500)
  onLive((e) => {
    if (e.event === "flow_run.created" || e.event === "flow_run.state_changed") again()
  })
  const toggle = async (d: Deployment) => {
    setError(undefined)
    try {
      if (d.is_schedule_active) await call((c) => c.deployments.setScheduleInactive({ path: { id: d.id } }))
      else await call((c) => c.deployments.setScheduleActive({ path: { id: d.id } }))
      void refetch()
    } catch (e) {
      setError(e)
    }
  }
  return (
    <>
      <h1>Deployments</h1>
      <ErrorBox error={deployments.error ?? error()} />
      <Show when={ok(deployments) !== undefined && ok(deployments)!.length === 0}>
        <EmptyState title="No deployments yet.">
          <p>Register the deployments a module exports with <code>npx orion deployment create examples/deployments.ts</code> (or through the API, <code>POST /api/deployments/</code>); flows run by scripts appear under <A href="/flows">Flows</A>.</p>
        </EmptyState>
      </Show>
      <For each={ok(deployments) ?? []}>
        {(x) => (
          <section class="card" aria-label={`Deployment ${x.d.name}`}>
            <header class="card-head">
              <h2>{x.flow} / {x.d.name}</h2>
              <div class="actions">
                <span class="muted">schedule: {describeSchedule(x.d)} — {x.d.is_schedule_active ? "active" : "paused"}</span>
                <button type="button" onClick={() => toggle(x.d)}>{x.d.is_schedule_active ? "Pause" : "Resume"}</button>
                <button type="button" class="primary" aria-expanded={open() === x.d.id} onClick={() => setOpen(open() === x.d.id ? undefined : x.d.id)}>Run…</button>
              </div>
            </header>
            <p class="muted">
              Next runs: {x.next.length === 0 ? "none scheduled" : x.next.map((r) => formatTime(r.next_scheduled_start_time ?? r.expected_start_time)).join(", ")}
              {" · "}tags: {x.d.tags.join(", ") || "—"}
            </p>
            <p class="muted" data-testid="deployment-policies">
              work queue: {x.d.work_queue}
              {" · "}retries: {x.d.empirical_policy.max_retries === 0 ? "none" : `${x.d.empirical_policy.max_retries}${x.d.empirical_policy.retry_crashed === true ? ", crashes included" : ""}`}
              {" · "}catch-up: {x.d.catchup_seconds === null ? "none (missed runs all run)" : `runs missed by more than ${x.d.catchup_seconds} s are skipped`}
              {" · "}overlap: {x.d.overlap}
            </p>
            <Show when={open() === x.d.id}><RunForm deployment={x.d} onDone={() => setOpen(undefined)} /></Show>
          </section>
        )}
      </For>
    </>
  )
}
