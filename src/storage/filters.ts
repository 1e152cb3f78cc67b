/**
 * Compiles the filter objects of the filter routes into SQL WHERE fragments (spec §4.1) with related-object EXISTS
 * subqueries (§4.2), plus the run sort orders (§4.3). Absent or null operators are ignored; an empty filter matches
 * everything. A related filter that is *present* (even `{}`) requires the related object to exist, as in the original:
 * e.g. `deployments: {}` on a flow-run query keeps only runs that have a deployment.
 *
 * Every query uses fixed table aliases — `f` flow, `d` deployment, `fr` flow_run, `tr` task_run — each table appears
 * at most once per query, so nested subqueries can refer to their parent by alias.
 */
import type * as SqlClient from "@effect/sql/SqlClient"
import type * as Statement from "@effect/sql/Statement"
import {
  formatTimestamp,
  type DeploymentFilter,
  type FilterSet,
  type FlowFilter,
  type FlowRunFilter,
  type FlowRunSort,
  type LogFilter,
  type LogSort,
  type TaskRunFilter,
  type TaskRunSort
} from "../domain/index.js"
import { jsonText } from "./codec.js"

type Fragment = Statement.Fragment
type Sql = SqlClient.SqlClient

/** Optional operator values as the decoded filter Schemas give them. */
type Maybe<A> = A | null | undefined

const present = <A>(value: Maybe<A>): value is A => value !== null && value !== undefined

/** `column IN (values)`; an empty list matches nothing. */
const anyOf = (sql: Sql, column: string, values: Maybe<ReadonlyArray<unknown>>): Array<Fragment> =>
  !present(values) ? [] : values.length === 0 ? [sql.literal("1=0")] : [sql`${sql.literal(column)} IN ${sql.in(values)}`]

/** `column NOT IN (values)`; an empty list excludes nothing. */
const noneOf = (sql: Sql, column: string, values: Maybe<ReadonlyArray<unknown>>): Array<Fragment> =>
  !present(values) || values.length === 0 ? [] : [sql`${sql.literal(column)} NOT IN ${sql.in(values)}`]

const isNull = (sql: Sql, column: string, flag: Maybe<boolean>): Array<Fragment> =>
  !present(flag) ? [] : [sql.literal(`${column} ${flag ? "IS NULL" : "IS NOT NULL"}`)]

/** Inclusive time bounds, bound as fixed-width UTC text (TEXT on SQLite, cast to timestamptz by pg). */
const timeRange = (
  sql: Sql,
  column: string,
  range: Maybe<{ readonly before_?: Maybe<Date>; readonly after_?: Maybe<Date>; readonly is_null_?: Maybe<boolean> }>
): Array<Fragment> => {
  if (!present(range)) return []
  const col = sql.literal(column)
  return [
    ...(present(range.before_) ? [sql`${col} <= ${formatTimestamp(range.before_)}`] : []),
    ...(present(range.after_) ? [sql`${col} >= ${formatTimestamp(range.after_)}`] : []),
    ...isNull(sql, column, range.is_null_)
  ]
}

/** A JSON array of tags: `all_` = the row's tags ⊇ the list; `is_null_` true = no tags, false = some tags. */
const tags = (
  sql: Sql,
  column: string,
  ops: Maybe<{ readonly all_?: Maybe<ReadonlyArray<string>>; readonly is_null_?: Maybe<boolean> }>
): Array<Fragment> => {
  if (!present(ops)) return []
  const col = sql.literal(column)
  const out: Array<Fragment> = []
  if (present(ops.all_) && ops.all_.length > 0) {
    const wanted = jsonText(ops.all_)
    out.push(sql.onDialectOrElse({
      pg: () => sql`${col} @> ${wanted}::jsonb`,
      orElse: () =>
        sql`NOT EXISTS (SELECT 1 FROM json_each(${wanted}) AS wanted_tag WHERE wanted_tag.value NOT IN (SELECT have_tag.value FROM json_each(${col}) AS have_tag))`
    }))
  }
  if (present(ops.is_null_)) {
    const length = sql.onDialectOrElse({ pg: () => sql`jsonb_array_length(${col})`, orElse: () => sql`json_array_length(${col})` })
    out.push(ops.is_null_ ? sql`${length} = 0` : sql`${length} > 0`)
  }
  return out
}

const stateOps = (
  sql: Sql,
  alias: string,
  state: Maybe<NonNullable<FlowRunFilter["state"]>>
): Array<Fragment> =>
  !present(state) ? [] : [
    ...anyOf(sql, `${alias}.state_type`, state.type?.any_),
    ...anyOf(sql, `${alias}.state_name`, state.name?.any_)
  ]

/** The conditions of a FlowFilter on alias `f`. */
export const flowFilterClauses = (sql: Sql, filter: FlowFilter): Array<Fragment> => [
  ...anyOf(sql, "f.id", filter.id?.any_),
  ...anyOf(sql, "f.name", filter.name?.any_),
  ...tags(sql, "f.tags", filter.tags)
]

/** The conditions of a FlowRunFilter on alias `fr`. */
export const flowRunFilterClauses = (sql: Sql, filter: FlowRunFilter): Array<Fragment> => [
  ...anyOf(sql, "fr.id", filter.id?.any_),
  ...noneOf(sql, "fr.id", filter.id?.not_any_),
  ...anyOf(sql, "fr.name", filter.name?.any_),
  ...tags(sql, "fr.tags", filter.tags),
  ...anyOf(sql, "fr.deployment_id", filter.deployment_id?.any_),
  ...isNull(sql, "fr.deployment_id", filter.deployment_id?.is_null_),
  ...stateOps(sql, "fr", filter.state),
  ...anyOf(sql, "fr.flow_version", filter.flow_version?.any_),
  ...timeRange(sql, "fr.start_time", filter.start_time),
  ...timeRange(sql, "fr.expected_start_time", filter.expected_start_time),
  ...timeRange(sql, "fr.next_scheduled_start_time", filter.next_scheduled_start_time),
  ...anyOf(sql, "fr.parent_task_run_id", filter.parent_task_run_id?.any_),
  ...isNull(sql, "fr.parent_task_run_id", filter.parent_task_run_id?.is_null_)
]

/** The conditions of a TaskRunFilter on alias `tr`; `subflow_runs` looks for a flow run whose parent is the task run. */
export const taskRunFilterClauses = (sql: Sql, filter: TaskRunFilter): Array<Fragment> => {
  const subflow = filter.subflow_runs?.exists_
  return [
    ...anyOf(sql, "tr.id", filter.id?.any_),
    ...anyOf(sql, "tr.name", filter.name?.any_),
    ...tags(sql, "tr.tags", filter.tags),
    ...stateOps(sql, "tr", filter.state),
    ...timeRange(sql, "tr.start_time", filter.start_time),
    ...(present(subflow)
      ? [sql`${sql.literal(subflow ? "EXISTS" : "NOT EXISTS")} (SELECT 1 FROM flow_run AS subflow WHERE subflow.parent_task_run_id = tr.id)`]
      : [])
  ]
}

/** The conditions of a DeploymentFilter on alias `d`. */
export const deploymentFilterClauses = (sql: Sql, filter: DeploymentFilter): Array<Fragment> => {
  const active = filter.is_schedule_active?.eq_
  return [
    ...anyOf(sql, "d.id", filter.id?.any_),
    ...anyOf(sql, "d.name", filter.name?.any_),
    ...(present(active) ? [sql.literal(`d.is_schedule_active = ${active ? "TRUE" : "FALSE"}`)] : []),
    ...tags(sql, "d.tags", filter.tags),
    ...anyOf(sql, "d.work_queue", filter.work_queue?.any_)
  ]
}

const exists = (sql: Sql, from: string, link: string, clauses: ReadonlyArray<Fragment>): Fragment =>
  sql`EXISTS (SELECT 1 FROM ${sql.literal(from)} WHERE ${sql.and([sql.literal(link), ...clauses])})`

/** "Exists a flow run linked by `link` matching the flow-run filter and, if given, having a matching task run." */
const existsRunWithTask = (sql: Sql, link: string, filters: FilterSet): Array<Fragment> => {
  if (!present(filters.flow_runs) && !present(filters.task_runs)) return []
  return [exists(sql, "flow_run AS fr", link, [
    ...(present(filters.flow_runs) ? flowRunFilterClauses(sql, filters.flow_runs) : []),
    ...(present(filters.task_runs)
      ? [exists(sql, "task_run AS tr", "tr.flow_run_id = fr.id", taskRunFilterClauses(sql, filters.task_runs))]
      : [])
  ])]
}

/** WHERE fragment for `FROM flow AS f`. */
export const flowsWhere = (sql: Sql, filters: FilterSet): Fragment =>
  sql.and([
    ...(present(filters.flows) ? flowFilterClauses(sql, filters.flows) : []),
    ...(present(filters.deployments)
      ? [exists(sql, "deployment AS d", "d.flow_id = f.id", deploymentFilterClauses(sql, filters.deployments))]
      : []),
    ...existsRunWithTask(sql, "fr.flow_id = f.id", filters)
  ])

/** WHERE fragment for `FROM flow_run AS fr`. */
export const flowRunsWhere = (sql: Sql, filters: FilterSet): Fragment =>
  sql.and([
    ...(present(filters.flow_runs) ? flowRunFilterClauses(sql, filters.flow_runs) : []),
    ...(present(filters.flows) ? [exists(sql, "flow AS f", "f.id = fr.flow_id", flowFilterClauses(sql, filters.flows))] : []),
    ...(present(filters.deployments)
      ? [exists(sql, "deployment AS d", "d.id = fr.deployment_id", deploymentFilterClauses(sql, filters.deployments))]
      : []),
    ...(present(filters.task_runs)
      ? [exists(sql, "task_run AS tr", "tr.flow_run_id = fr.id", taskRunFilterClauses(sql, filters.task_runs))]
      : [])
  ])

/** WHERE fragment for `FROM task_run AS tr`: its flow run, that run's flow and deployment must match. */
export const taskRunsWhere = (sql: Sql, filters: FilterSet): Fragment => {
  const related = present(filters.flow_runs) || present(filters.flows) || present(filters.deployments)
  return sql.and([
    ...(present(filters.task_runs) ? taskRunFilterClauses(sql, filters.task_runs) : []),
    ...(related
      ? [exists(sql, "flow_run AS fr", "fr.id = tr.flow_run_id", [
        ...(present(filters.flow_runs) ? flowRunFilterClauses(sql, filters.flow_runs) : []),
        ...(present(filters.flows) ? [exists(sql, "flow AS f", "f.id = fr.flow_id", flowFilterClauses(sql, filters.flows))] : []),
        ...(present(filters.deployments)
          ? [exists(sql, "deployment AS d", "d.id = fr.deployment_id", deploymentFilterClauses(sql, filters.deployments))]
          : [])
      ])]
      : [])
  ])
}

/** WHERE fragment for `FROM deployment AS d`. */
export const deploymentsWhere = (sql: Sql, filters: FilterSet): Fragment =>
  sql.and([
    ...(present(filters.deployments) ? deploymentFilterClauses(sql, filters.deployments) : []),
    ...(present(filters.flows) ? [exists(sql, "flow AS f", "f.id = d.flow_id", flowFilterClauses(sql, filters.flows))] : []),
    ...existsRunWithTask(sql, "fr.deployment_id = d.id", filters)
  ])

/** ORDER BY for runs under `alias`; NULLs of the sort column come last, ties are broken by id (same direction). */
export const runOrderBy = (sql: Sql, alias: "fr" | "tr", sort: FlowRunSort | TaskRunSort): Fragment => {
  const by = (column: string, direction: "ASC" | "DESC") =>
    sql.literal(`${alias}.${column} ${direction} NULLS LAST, ${alias}.id ${direction}`)
  switch (sort) {
    case "ID_DESC":
      return sql.literal(`${alias}.id DESC`)
    case "EXPECTED_START_TIME_ASC":
      return by("expected_start_time", "ASC")
    case "EXPECTED_START_TIME_DESC":
      return by("expected_start_time", "DESC")
    case "NEXT_SCHEDULED_START_TIME_ASC":
      return by("next_scheduled_start_time", "ASC")
    case "END_TIME_DESC":
      return by("end_time", "DESC")
  }
}

/** WHERE fragment for `FROM log AS l` (spec §11 logs). */
export const logsWhere = (sql: Sql, filter: Maybe<LogFilter>): Fragment => {
  if (!present(filter)) return sql.and([])
  const level = filter.level
  return sql.and([
    ...(present(level?.ge_) ? [sql`l.level >= ${level.ge_}`] : []),
    ...(present(level?.le_) ? [sql`l.level <= ${level.le_}`] : []),
    ...timeRange(sql, "l.timestamp", filter.timestamp),
    ...anyOf(sql, "l.flow_run_id", filter.flow_run_id?.any_),
    ...anyOf(sql, "l.task_run_id", filter.task_run_id?.any_)
  ])
}

/** ORDER BY for logs; ties are broken by id. */
export const logOrderBy = (sql: Sql, sort: LogSort): Fragment =>
  sql.literal(sort === "TIMESTAMP_ASC" ? "l.timestamp ASC, l.id ASC" : "l.timestamp DESC, l.id DESC")

