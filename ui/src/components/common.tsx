/** Small pieces every page uses: the state badge, an error shown in place, an empty state that says what to run. */
import { type JSX, type Resource, Show } from "solid-js"
import { stateVar } from "../format.js"

export const StateBadge = (props: { type: string | null | undefined; name: string | null | undefined }) => (
  <span class="badge" data-state={props.type ?? "NONE"} style={{ "--badge": stateVar(props.type) }}>
    {props.name ?? props.type ?? "—"}
  </span>
)

/** An API error where the data would have been, with what to do about it. */
export const ErrorBox = (props: { error: unknown }) => (
  <Show when={props.error}>
    <div class="error" role="alert">{props.error instanceof Error ? props.error.message : String(props.error)}</div>
  </Show>
)

export const EmptyState = (props: { title: string; children?: JSX.Element }) => (
  <div class="empty">
    <p><strong>{props.title}</strong></p>
    {props.children ?? (
      <p>
        Run a flow in another terminal and watch it arrive here live: <code>npx tsx examples/etl-async.ts</code>
      </p>
    )}
  </div>
)

export const Card = (props: { title: string; children: JSX.Element; actions?: JSX.Element }) => (
  <section class="card" aria-label={props.title}>
    <header class="card-head"><h2>{props.title}</h2>{props.actions}</header>
    {props.children}
  </section>
)

/**
 * A resource's value, or undefined while it loads or when it failed: reading a failed resource directly throws, and
 * the page shows its error in place (`ErrorBox` with `resource.error`) instead.
 */
export const ok = <T,>(resource: Resource<T>): T | undefined => (resource.state === "errored" ? undefined : resource())

/** Arrow keys, Home and End on a tab list move the selection and the focus (WAI-ARIA tabs). */
export const onTabKeys = <K extends string,>(keys: ReadonlyArray<K>, current: () => K, select: (k: K) => void) => (e: KeyboardEvent) => {
  const i = keys.indexOf(current())
  const next = e.key === "ArrowRight" ? (i + 1) % keys.length : e.key === "ArrowLeft" ? (i - 1 + keys.length) % keys.length
    : e.key === "Home" ? 0 : e.key === "End" ? keys.length - 1 : -1
  if (next < 0) return
  e.preventDefault()
  select(keys[next]!)
  const tabs = (e.currentTarget as HTMLElement).querySelectorAll<HTMLElement>("[role=tab]")
  tabs[next]?.focus()
}
