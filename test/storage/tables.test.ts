import { SqlClient } from "@effect/sql"
import { describe, expect, it, layer } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { tableOf, decisionTable, eventTable, flowRunTable, stateTables, taskRunTable } from "../../src/storage/tables.js"
import { databases } from "../support/databases.js"

/** The columns a migrated database has for `table`. */
const columnsOf = (table: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql.onDialectOrElse({
      pg: () => sql<{ name: string }>`SELECT column_name AS name FROM information_schema.columns WHERE table_name = ${table}`,
      orElse: () => sql<{ name: string }>`SELECT name FROM pragma_table_info(${table})`
    })
    return rows.map((r) => r.name).sort()
  })

describe.each(databases)("tables derived from the Schemas, on $name", (db) => {
  layer(db.layer())((it) => {
    it.effect("each table the orchestrator writes has exactly its Schema's stored fields as columns, after the migrations", () =>
      Effect.gen(function*() {
        expect(yield* columnsOf("flow_run")).toEqual([...flowRunTable.columns].sort())
        expect(yield* columnsOf("task_run")).toEqual([...taskRunTable.columns].sort())
        expect(yield* columnsOf("flow_run_state")).toEqual([...stateTables.flow_run.columns].sort())
        expect(yield* columnsOf("task_run_state")).toEqual([...stateTables.task_run.columns].sort())
        expect(yield* columnsOf("decision_without_state")).toEqual([...decisionTable.columns].sort())
        expect(yield* columnsOf("event")).toEqual(["id", ...eventTable.columns].sort())
      }))
  })
})

describe("tableOf", () => {
  const kinds = (t: { readonly columns: ReadonlyArray<string>; readonly kinds: ReadonlyArray<string> }) =>
    Object.fromEntries(t.columns.map((c, i) => [c, t.kinds[i]]))

  it("stores each field by its encoded side: objects and arrays as JSON, booleans, numbers, the rest (timestamps too) as text", () => {
    const t = tableOf("t", Schema.Struct({
      a: Schema.String, b: Schema.NullOr(Schema.Number), c: Schema.Boolean, d: Schema.Array(Schema.String),
      e: Schema.Record({ key: Schema.String, value: Schema.Unknown }), f: Schema.Literal("x", "y"), g: Schema.Date,
      h: Schema.optionalWith(Schema.NullOr(Schema.Struct({ x: Schema.Number })), { default: () => null }), skipped: Schema.String
    }), ["skipped"])
    expect(kinds(t)).toEqual({ a: "text", b: "number", c: "bool", d: "json", e: "json", f: "text", g: "text", h: "json" })
    expect(t.read).toEqual({ json: ["d", "e", "h"], bool: ["c"], int: ["b"] })
  })

  it("refuses, when the table is defined, a field no column can hold", () => {
    expect(() => tableOf("t", Schema.Struct({ x: Schema.Union(Schema.String, Schema.Number) }))).toThrow(/t\.x mixes storage kinds/)
    expect(() => tableOf("t", Schema.Struct({ x: Schema.BigIntFromSelf }))).toThrow(/t\.x has a type no column stores/)
  })
})
