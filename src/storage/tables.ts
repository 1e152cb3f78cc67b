/**
 * The tables the orchestrator writes, each derived from its domain Schema: one definition gives the columns, their
 * storage kinds, the row type (the Schema's encoded side), the SQL text of INSERTs and partial UPDATEs, positional
 * bindings for either database, and how a raw row is normalised before decoding. A column added to a Schema here is
 * written and read everywhere; the migration that adds it is the only other edit.
 */
import { Schema, SchemaAST } from "effect"
import { Decision } from "../domain/orchestration.js"
import { OrionEvent } from "../domain/events.js"
import { FlowRun, TaskRun, type RunKind } from "../domain/runs.js"
import { State } from "../domain/state.js"
import { formatTimestamp, Uuid } from "../domain/primitives.js"
import { jsonText, type TableColumns } from "./codec.js"
import type { Dialect } from "./database.js"

/** How a column's values are stored: JSON text (jsonb), a boolean (0/1 on SQLite), a number, or text as given. */
export type ColumnKind = "json" | "bool" | "number" | "text"

export interface Table<Row> {
  readonly name: string
  /** The columns in a fixed order: that of positional bindings. */
  readonly columns: ReadonlyArray<keyof Row & string>
  readonly kinds: ReadonlyArray<ColumnKind>
  /** What `normalizeRow` turns back: JSON text, 0/1 booleans, numbers pg returns as strings. */
  readonly read: TableColumns
}

/** A table's row as it is bound: the encoded (wire) side of its Schema. */
export type RowOf<T> = T extends Table<infer Row> ? Row : never

/** Null, or absent (an optional field's encoded side): stored as NULL in any column. */
const isNull = (ast: SchemaAST.AST) => (ast._tag === "Literal" && ast.literal === null) || ast._tag === "UndefinedKeyword"

/** The storage kind of an encoded Schema's AST; throws for what no column can hold, so a bad table fails at load. */
const kindOf = (ast: SchemaAST.AST, path: string): ColumnKind => {
  switch (ast._tag) {
    case "Refinement":
      return kindOf(ast.from, path)
    case "Suspend":
      return kindOf(ast.f(), path)
    case "Transformation":
      return kindOf(ast.from, path)
    case "StringKeyword":
    case "TemplateLiteral":
      return "text"
    case "NumberKeyword":
      return "number"
    case "BooleanKeyword":
      return "bool"
    case "Literal":
      return typeof ast.literal === "number" ? "number" : typeof ast.literal === "boolean" ? "bool" : "text"
    case "TypeLiteral":
    case "TupleType":
      return "json"
    case "Union": {
      const kinds = new Set(ast.types.filter((t) => !isNull(t)).map((t) => kindOf(t, path)))
      if (kinds.size === 1) return [...kinds][0]!
      throw new Error(`The column ${path} mixes storage kinds (${[...kinds].join(", ")})`)
    }
    default:
      throw new Error(`The column ${path} has a type no column stores (${ast._tag})`)
  }
}

/**
 * The table `name` holding `schema`'s fields but `omit` (fields computed on read, or joined from other tables).
 * Fields are stored by their encoded side: timestamps as text (timestamptz on PostgreSQL), objects as JSON.
 */
export const tableOf = <F extends Schema.Struct.Fields, O extends keyof F & string = never>(
  name: string,
  schema: Schema.Struct<F>,
  omit: ReadonlyArray<O> = []
): Table<Omit<Schema.Struct.Encoded<F>, O>> => {
  const skipped = new Set<string>(omit)
  const signatures = SchemaAST.getPropertySignatures(Schema.encodedSchema(schema).ast).filter((p) => !skipped.has(String(p.name)))
  const columns = signatures.map((p) => String(p.name)) as Array<keyof Omit<Schema.Struct.Encoded<F>, O> & string>
  const kinds = signatures.map((p) => kindOf(p.type, `${name}.${String(p.name)}`))
  const having = (kind: ColumnKind) => columns.filter((_, i) => kinds[i] === kind)
  return { name, columns, kinds, read: { json: having("json"), bool: having("bool"), int: having("number") } }
}

/** Fields a run row does not store: computed when read (the estimates) or joined from its state table (`state`). */
const notStoredOnRuns = ["state", "estimated_run_time", "estimated_start_time_delta"] as const

export const flowRunTable = tableOf("flow_run", FlowRun, notStoredOnRuns)
export const taskRunTable = tableOf("task_run", TaskRun, notStoredOnRuns)
export type FlowRunRow = RowOf<typeof flowRunTable>
export type TaskRunRow = RowOf<typeof taskRunTable>
export const runTables = { flow_run: flowRunTable, task_run: taskRunTable } as const

/** The decision that stored a state, kept on the state's row (migration 0003): `decided_at` is its timestamp. */
const storedDecisionFields = {
  decided_at: Decision.fields.timestamp,
  from_type: Decision.fields.from_type,
  proposed_type: Decision.fields.proposed_type,
  proposed_name: Decision.fields.proposed_name,
  forced: Decision.fields.forced,
  status: Decision.fields.status,
  rule: Decision.fields.rule,
  reason: Decision.fields.reason,
  rules: Decision.fields.rules
}

/** A row of `<kind>_state`: the state, its run's id and the decision that stored it. */
const storedState = <K extends string>(runIdColumn: K) =>
  Schema.Struct({ ...State.fields, ...{ [runIdColumn]: Uuid } as { [_ in K]: typeof Uuid }, ...storedDecisionFields })

export const stateTables = {
  flow_run: tableOf("flow_run_state", storedState("flow_run_id")),
  task_run: tableOf("task_run_state", storedState("task_run_id"))
} as const
export type StateRow<K extends RunKind = RunKind> = RowOf<(typeof stateTables)[K]>

export const eventTable = tableOf("event", OrionEvent, ["id"])
export type EventRow = RowOf<typeof eventTable>

/** Decisions that stored no state (WAIT, ABORT), and every decision made before migration 0003. */
export const decisionTable = tableOf("decision_without_state", Decision)
export type DecisionRow = RowOf<typeof decisionTable>

/**
 * Binds one value of `kind`: JSON to text, booleans to 0/1 on SQLite, Dates to timestamps, absent to null; the rest as
 * given. A JSON column holds objects and arrays only (`kindOf`), so a string bound to one is JSON text already.
 */
const binder = (dialect: Dialect, kind: ColumnKind): (v: unknown) => unknown => {
  switch (kind) {
    case "json":
      return (v) => (v === null || v === undefined ? null : typeof v === "string" ? v : jsonText(v))
    case "bool":
      return dialect === "sqlite" ? (v) => (v === null || v === undefined ? null : v ? 1 : 0) : (v) => v ?? null
    default:
      return (v) => (v instanceof Date ? formatTimestamp(v) : v ?? null)
  }
}

const bindersByTable = { sqlite: new WeakMap<Table<any>, ReadonlyArray<(v: unknown) => unknown>>(), pg: new WeakMap<Table<any>, ReadonlyArray<(v: unknown) => unknown>>() }
const bindersOf = (table: Table<any>, dialect: Dialect) => {
  let binders = bindersByTable[dialect].get(table)
  if (binders === undefined) bindersByTable[dialect].set(table, binders = table.kinds.map((k) => binder(dialect, k)))
  return binders
}

/** Appends `rows`' values, column by column, to `into` (a multi-row statement's parameters). */
export const bindRows = <Row>(table: Table<Row>, dialect: Dialect, rows: ReadonlyArray<Row>, into: Array<unknown> = []): Array<unknown> => {
  const binders = bindersOf(table, dialect)
  const columns = table.columns
  for (const row of rows) for (let c = 0; c < columns.length; c++) into.push(binders[c]!((row as Record<string, unknown>)[columns[c]!]))
  return into
}

/** The placeholder of the `n`th parameter (from 0). */
export const placeholder = (dialect: Dialect, n: number) => (dialect === "pg" ? `$${n + 1}` : "?")

/** `INSERT INTO <table> (<columns>) VALUES (…), …` for `rows` rows, then `suffix` (ON CONFLICT …, RETURNING …). */
export const insertSql = (table: Table<any>, dialect: Dialect, rows: number, suffix = ""): string => {
  let byKey = insertSqls.get(table)
  if (byKey === undefined) insertSqls.set(table, byKey = new Map())
  const key = `${dialect}:${rows}:${suffix}`
  let text = byKey.get(key)
  if (text === undefined) byKey.set(key, text = buildInsertSql(table, dialect, rows, suffix))
  return text
}
const insertSqls = new WeakMap<Table<any>, Map<string, string>>()
const buildInsertSql = (table: Table<any>, dialect: Dialect, rows: number, suffix: string): string => {
  const width = table.columns.length
  const tuples: Array<string> = []
  for (let r = 0; r < rows; r++) tuples.push(`(${Array.from({ length: width }, (_, c) => placeholder(dialect, r * width + c)).join(", ")})`)
  return `INSERT INTO ${table.name} (${table.columns.join(", ")}) VALUES ${tuples.join(", ")}${suffix}`
}

/** `UPDATE <table> SET a = ?, b = ? ` for `columns`, then `where`, whose placeholders start after the SET's. */
export const updateSql = (table: Table<any>, dialect: Dialect, columns: ReadonlyArray<string>, where: (next: (offset: number) => string) => string): string =>
  `UPDATE ${table.name} SET ${columns.map((c, i) => `${c} = ${placeholder(dialect, i)}`).join(", ")} ${where((k) => placeholder(dialect, columns.length + k))}`

/** Binds one value of `table`'s `column` (for partial updates, by column name). */
export const bindColumn = (table: Table<any>, dialect: Dialect, column: string, value: unknown): unknown => {
  const i = table.columns.indexOf(column)
  if (i < 0) throw new Error(`${table.name} has no column ${column}`)
  return bindersOf(table, dialect)[i]!(value)
}

/** How every table's rows are normalised when read (`normalizeRow`): the orchestrator's tables from their Schemas. */
export const Columns = {
  flow: { json: ["tags"] },
  deployment: { json: ["flow_data", "schedule", "parameters", "tags", "empirical_policy"], bool: ["is_schedule_active"] },
  flow_run: flowRunTable.read,
  task_run: taskRunTable.read,
  state: stateTables.flow_run.read,
  saved_search: { json: ["filters"] },
  log: {},
  concurrency_limit: { json: ["active_slots"] },
  decision: decisionTable.read,
  event: tableOf("event", OrionEvent).read
} satisfies Record<string, TableColumns>
