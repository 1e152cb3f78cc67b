/**
 * The first requests of the page the address opens, started by `first-requests-entry.ts` — built into `index.html` as
 * an inline script, so they leave while the dashboard's bundle still loads — and handed to the page when it asks for
 * the same request. They go through the same typed client; a page that asks for something else (or later) calls the
 * API itself. The inline script and the bundle each have their own copy of this module: they share the started
 * requests through `window`.
 */
import { call, uuid } from "./api.js"
import { countPayload, type FlowRunsParams, flowRunsQuery, summariesPayload } from "./pages/flow-runs-query.js"

/** The first page of a flow run's task-run summaries, small so that the first rows show at once. */
export const FIRST_TASK_PAGE = 500

/** An early answer is handed over only this soon after it was asked for: later, the page asks for a fresh one. */
const FRESH_MS = 5000

declare global {
  interface Window {
    __orionFirstRequests?: Map<string, { readonly promise: Promise<unknown>; readonly at: number }>
  }
}
const started = (window.__orionFirstRequests ??= new Map())

/** `run`'s answer — or the answer of the same request (same `key`) started early, once, while fresh. */
export const early = <A>(key: string, run: () => Promise<A>): Promise<A> => {
  const entry = started.get(key)
  if (entry === undefined) return run()
  started.delete(key)
  return Date.now() - entry.at <= FRESH_MS ? (entry.promise as Promise<A>) : run()
}

const start = (key: string, run: () => Promise<unknown>) => {
  const promise = run()
  // Not taken (the page changed its mind): its failure is the page's own request's to show, not the console's.
  promise.catch(() => undefined)
  started.set(key, { promise, at: Date.now() })
}

/** The request keys, shared by the pages and the early start. */
export const keys = {
  flowRunSummaries: (payload: unknown) => `flow_runs.summaries ${JSON.stringify(payload)}`,
  flowRunCount: (payload: unknown) => `flow_runs.count ${JSON.stringify(payload)}`,
  flowRun: (id: string) => `flow_runs.get ${id}`,
  taskRunSummaries: (id: string, limit: number) => `flow_runs.taskRunSummaries ${id} ${limit}`
}

/** Starts the first requests of the page at `pathname` + `search` (the flow-runs list, a flow run's page). */
export const startFirstRequests = (pathname: string, search: string, maxSummaryPage: number) => {
  try {
    if (pathname === "/flow-runs") {
      const params = Object.fromEntries(new URLSearchParams(search)) as FlowRunsParams
      const query = flowRunsQuery(params, Date.now())
      const summaries = summariesPayload(query)
      const count = countPayload(query)
      start(keys.flowRunSummaries(summaries), () => call((c) => c.flow_runs.summaries({ payload: summaries })))
      start(keys.flowRunCount(count), () => call((c) => c.flow_runs.count({ payload: count })))
    }
    const flowRun = /^\/flow-run\/([^/]+)$/.exec(pathname)
    if (flowRun !== null) {
      const id = uuid(decodeURIComponent(flowRun[1]!))
      start(keys.flowRun(id), () => call((c) => c.flow_runs.get({ path: { id } })))
      for (const limit of [FIRST_TASK_PAGE, maxSummaryPage]) {
        start(keys.taskRunSummaries(id, limit), () => call((c) => c.flow_runs.taskRunSummaries({ path: { id }, urlParams: { limit } })))
      }
    }
  } catch {
    // A malformed address: the page says what is wrong when it asks itself.
  }
  // How many were started: the browser tests check that the page took them rather than asking again.
  document.documentElement.dataset.firstRequests = String(started.size)
}
