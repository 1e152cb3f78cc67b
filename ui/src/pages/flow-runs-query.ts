/**
 * What the flow-runs page asks the server for, from the address's search parameters: the filter, sort and page of the
 * list, and the bodies of its `summaries` and `count` requests. One function, so that the requests started before the
 * page has loaded (first-requests.ts) are the page's own.
 */
import type { FlowRunFilter, FlowRunSort } from "../../../src/domain/filters.js"
import type { Uuid } from "../../../src/domain/primitives.js"
import { uuid } from "../api.js"

/** The page's search parameters (all optional, all text, as in the address). */
export interface FlowRunsParams {
  flow?: string
  deployment?: string
  tags?: string
  state?: string
  name?: string
  range?: string
  sort?: string
  page?: string
}

/** Flow runs per page. */
export const PAGE = 50

export const SORTS: ReadonlyArray<{ value: FlowRunSort; label: string }> = [
  { value: "ID_DESC", label: "Newest first" },
  { value: "EXPECTED_START_TIME_DESC", label: "Expected start, latest first" },
  { value: "EXPECTED_START_TIME_ASC", label: "Expected start, earliest first" },
  { value: "END_TIME_DESC", label: "End time, latest first" }
]

/** A comma-separated parameter as its non-empty items. */
export const items = (value: string | undefined) => (value ?? "").split(",").map((s) => s.trim()).filter((s) => s !== "")

export const pageOf = (params: FlowRunsParams) => Math.max(0, Number(params.page ?? 0) || 0)
export const sortOf = (params: FlowRunsParams): FlowRunSort => SORTS.find((s) => s.value === params.sort)?.value ?? "ID_DESC"

/** The flows filter the page sends: one flow, by id. */
type OneFlow = { readonly id: { readonly any_: ReadonlyArray<Uuid> } }

export interface FlowRunsQuery {
  readonly flow_runs: FlowRunFilter
  readonly flows: OneFlow | undefined
  readonly sort: FlowRunSort
  readonly page: number
}

/** The list's filter, sort and page; a time range counts back from `now` (ms). A malformed id throws (shown in place). */
export const flowRunsQuery = (params: FlowRunsParams, now: number): FlowRunsQuery => {
  const tags = items(params.tags)
  const states = items(params.state)
  // State names (Late, AwaitingRetry, Retrying …): a dashboard link or a saved search may give one.
  const names = items(params.name)
  const seconds = Number(params.range ?? 0)
  const f: Record<string, unknown> = {}
  if (tags.length > 0) f.tags = { all_: tags }
  if (states.length > 0 || names.length > 0) {
    f.state = {
      ...(states.length > 0 ? { type: { any_: states } } : {}),
      ...(names.length > 0 ? { name: { any_: names } } : {})
    }
  }
  if (params.deployment) f.deployment_id = { any_: [uuid(params.deployment)] }
  if (seconds > 0) f.expected_start_time = { after_: new Date(now - seconds * 1000) }
  return {
    flow_runs: f as FlowRunFilter,
    flows: params.flow ? { id: { any_: [uuid(params.flow)] } } : undefined,
    sort: sortOf(params),
    page: pageOf(params)
  }
}

/** The body of `POST /api/flow_runs/summaries` for the query's page. */
export const summariesPayload = (q: FlowRunsQuery) =>
  ({ flow_runs: q.flow_runs, ...(q.flows ? { flows: q.flows } : {}), sort: q.sort, limit: PAGE, offset: q.page * PAGE })

/** The body of `POST /api/flow_runs/count` for the query. */
export const countPayload = (q: FlowRunsQuery) => ({ flow_runs: q.flow_runs, ...(q.flows ? { flows: q.flows } : {}) })
