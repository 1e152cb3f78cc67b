/** Filter objects, sorts and pagination of the filter routes (spec §4.1–4.3, §11 logs). Absent or null operators are ignored. */
import { Schema } from "effect"
import { Int32, Timestamp, Uuid, withDefault } from "./primitives.js"
import { StateType } from "./state.js"

const opt = <S extends Schema.Schema.Any>(s: S) => Schema.optional(Schema.NullOr(s))
const Struct = <F extends Schema.Struct.Fields>(id: string, fields: F) => Schema.Struct(fields).annotations({ identifier: id })

const AnyUuid = Struct("AnyUuid", { any_: opt(Schema.Array(Uuid)) })
const AnyString = Struct("AnyString", { any_: opt(Schema.Array(Schema.String)) })
const TagsOps = Struct("TagsFilter", {
  all_: opt(Schema.Array(Schema.String)),
  is_null_: opt(Schema.Boolean)
})
const TimeRange = Struct("TimeRange", { before_: opt(Timestamp), after_: opt(Timestamp) })
const TimeRangeOrNull = Struct("TimeRangeOrNull", { before_: opt(Timestamp), after_: opt(Timestamp), is_null_: opt(Schema.Boolean) })
const StateOps = Struct("StateFilter", {
  type: opt(Struct("StateTypeFilter", { any_: opt(Schema.Array(StateType)) })),
  name: opt(AnyString)
})

export const FlowFilter = Struct("FlowFilter", {
  id: opt(AnyUuid),
  name: opt(AnyString),
  tags: opt(TagsOps)
})
export type FlowFilter = typeof FlowFilter.Type

export const FlowRunFilter = Struct("FlowRunFilter", {
  id: opt(Struct("FlowRunIdFilter", { any_: opt(Schema.Array(Uuid)), not_any_: opt(Schema.Array(Uuid)) })),
  name: opt(AnyString),
  tags: opt(TagsOps),
  deployment_id: opt(Struct("DeploymentIdFilter", { any_: opt(Schema.Array(Uuid)), is_null_: opt(Schema.Boolean) })),
  state: opt(StateOps),
  flow_version: opt(AnyString),
  start_time: opt(TimeRangeOrNull),
  expected_start_time: opt(TimeRange),
  next_scheduled_start_time: opt(TimeRange),
  parent_task_run_id: opt(Struct("ParentTaskRunIdFilter", { any_: opt(Schema.Array(Uuid)), is_null_: opt(Schema.Boolean) }))
})
export type FlowRunFilter = typeof FlowRunFilter.Type

export const TaskRunFilter = Struct("TaskRunFilter", {
  id: opt(AnyUuid),
  name: opt(AnyString),
  tags: opt(TagsOps),
  state: opt(StateOps),
  start_time: opt(TimeRangeOrNull),
  subflow_runs: opt(Struct("SubflowRunsFilter", { exists_: opt(Schema.Boolean) }))
})
export type TaskRunFilter = typeof TaskRunFilter.Type

export const DeploymentFilter = Struct("DeploymentFilter", {
  id: opt(AnyUuid),
  name: opt(AnyString),
  is_schedule_active: opt(Struct("IsScheduleActiveFilter", { eq_: opt(Schema.Boolean) })),
  tags: opt(TagsOps),
  work_queue: opt(AnyString)
})
export type DeploymentFilter = typeof DeploymentFilter.Type

/** The four related-object filters every filter route accepts (spec §4.2). */
export const Filters = {
  flows: opt(FlowFilter),
  flow_runs: opt(FlowRunFilter),
  task_runs: opt(TaskRunFilter),
  deployments: opt(DeploymentFilter)
} as const
export const FilterSet = Struct("FilterSet", Filters)
export type FilterSet = typeof FilterSet.Type

export const FlowRunSort = Schema.Literal(
  "ID_DESC", "EXPECTED_START_TIME_ASC", "EXPECTED_START_TIME_DESC", "NEXT_SCHEDULED_START_TIME_ASC", "END_TIME_DESC"
).annotations({ identifier: "FlowRunSort" })
export type FlowRunSort = typeof FlowRunSort.Type
export const TaskRunSort = FlowRunSort.annotations({ identifier: "TaskRunSort" })
export type TaskRunSort = FlowRunSort

/** Page size: default 200, at most 200 (spec §4). */
export const MAX_LIMIT = 200
export const Pagination = {
  limit: withDefault(Schema.Int.pipe(Schema.between(0, MAX_LIMIT, { message: () => `limit must be between 0 and ${MAX_LIMIT}` })), () => MAX_LIMIT),
  offset: withDefault(Schema.Int.pipe(Schema.nonNegative()), () => 0)
} as const

export const FlowFilterRequest = Struct("FlowFilterRequest", { ...Filters, ...Pagination })
export type FlowFilterRequest = typeof FlowFilterRequest.Type
export const FlowRunFilterRequest = Struct("FlowRunFilterRequest", { ...Filters, ...Pagination, sort: withDefault(FlowRunSort, () => "ID_DESC" as const) })
export type FlowRunFilterRequest = typeof FlowRunFilterRequest.Type
export const TaskRunFilterRequest = Struct("TaskRunFilterRequest", { ...Filters, ...Pagination, sort: withDefault(TaskRunSort, () => "ID_DESC" as const) })
export type TaskRunFilterRequest = typeof TaskRunFilterRequest.Type
export const DeploymentFilterRequest = Struct("DeploymentFilterRequest", { ...Filters, ...Pagination })
export type DeploymentFilterRequest = typeof DeploymentFilterRequest.Type
export const CountRequest = Struct("CountRequest", Filters)
export type CountRequest = typeof CountRequest.Type

export const LogFilter = Struct("LogFilter", {
  level: opt(Struct("LogLevelFilter", { ge_: opt(Int32), le_: opt(Int32) })),
  timestamp: opt(TimeRange),
  flow_run_id: opt(AnyUuid),
  task_run_id: opt(AnyUuid)
})
export type LogFilter = typeof LogFilter.Type
export const LogSort = Schema.Literal("TIMESTAMP_ASC", "TIMESTAMP_DESC").annotations({ identifier: "LogSort" })
export type LogSort = typeof LogSort.Type
export const LogFilterRequest = Struct("LogFilterRequest", {
  logs: opt(LogFilter), ...Pagination, sort: withDefault(LogSort, () => "TIMESTAMP_ASC" as const)
})
export type LogFilterRequest = typeof LogFilterRequest.Type

export const ConcurrencyLimitFilterRequest = Struct("ConcurrencyLimitFilterRequest", Pagination)
export const SavedSearchFilterRequest = Struct("SavedSearchFilterRequest", Pagination)
