/**
 * Seeded property-based fuzzing of every route in the server's own OpenAPI document, on SQLite and PostgreSQL: no
 * request gets a 5xx, the server stays healthy, and afterwards the database's invariants hold (no partial write).
 */
import { describe, expect, layer } from "@effect/vitest"
import { SqlClient } from "@effect/sql"
import { Effect, FastCheck as fc } from "effect"
import { databases } from "../support/databases.js"
import { apiServer, baseUrl, expectStatus, unique } from "./harness.js"

/** Replay a failure with `ORION_FUZZ_SEED=<seed>`; `ORION_FUZZ_REQUESTS` sets how many requests each database gets. */
const SEED = Number(process.env.ORION_FUZZ_SEED ?? 20_261_122)
const REQUESTS = Number(process.env.ORION_FUZZ_REQUESTS ?? 1_500)
const DEEPEST = 20_000
/** Requests sent at once (so the orchestrator commits some together), and how often the invariants are checked. */
const AT_ONCE = 4
const CHECK_EVERY = 300

// ---------------------------------------------------------------------------------------------------------------
// The OpenAPI document, as far as generating requests needs it

interface JsonSchema {
  readonly $ref?: string
  readonly type?: string
  readonly properties?: Record<string, JsonSchema>
  readonly required?: ReadonlyArray<string>
  readonly additionalProperties?: boolean | JsonSchema
  readonly items?: JsonSchema
  readonly anyOf?: ReadonlyArray<JsonSchema>
  readonly enum?: ReadonlyArray<unknown>
  readonly format?: string
  readonly description?: string
  readonly minimum?: number
  readonly maximum?: number
  readonly exclusiveMinimum?: number
  readonly minLength?: number
  readonly maxLength?: number
  readonly minItems?: number
  readonly maxItems?: number
}

interface Parameter {
  readonly name: string
  readonly in: "path" | "query" | "header"
  readonly required?: boolean
  readonly schema?: JsonSchema
}

interface Operation {
  readonly method: string
  /** The path template, e.g. `/api/flows/{id}`. */
  readonly path: string
  readonly parameters: ReadonlyArray<Parameter>
  readonly contentType: string | undefined
  readonly body: JsonSchema | undefined
  /** An event stream (Server-Sent Events): opened, never read to its end. */
  readonly streams: boolean
}

interface OpenApiDocument {
  readonly paths: Record<string, Record<string, {
    readonly parameters?: ReadonlyArray<Parameter>
    readonly requestBody?: { readonly content: Record<string, { readonly schema?: JsonSchema }> }
    readonly responses?: Record<string, { readonly content?: Record<string, unknown> }>
  }>>
  readonly components: { readonly schemas: Record<string, JsonSchema> }
}

const operationsOf = (doc: OpenApiDocument): Array<Operation> =>
  Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => {
      const content = Object.entries(op.requestBody?.content ?? {})[0]
      // An event stream, or a long poll held open until something happens or its timeout (up to 60 s): not answering
      // within the fuzzer's patience is what it is for.
      const streams = Object.values(op.responses ?? {}).some((r) => "text/event-stream" in (r.content ?? {})) || isLongPoll(path)
      return { method: method.toUpperCase(), path, parameters: op.parameters ?? [], contentType: content?.[0], body: content?.[1].schema, streams }
    }))

// ---------------------------------------------------------------------------------------------------------------
// Objects that exist: seeded first, then whatever the fuzzed requests create. Generated requests name them by kind
// and index (`Ref`), resolved when the request is sent, so a seed replays the same requests against the same objects.

type Kind =
  | "flow" | "flow_run" | "task_run" | "deployment" | "flow_run_state" | "task_run_state" | "saved_search" | "concurrency_limit"
  | "flow_name" | "deployment_name" | "tag" | "data_document"

const idKinds: ReadonlyArray<Kind> = ["flow", "flow_run", "task_run", "deployment", "flow_run_state", "task_run_state", "saved_search", "concurrency_limit"]

class Ref {
  constructor(readonly kind: Kind, readonly n: number) {}
}

const isUuid = (s: unknown): s is string => typeof s === "string" && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s)

class Pools {
  private readonly pools = new Map<Kind, Array<string>>()
  add(kind: Kind, value: unknown) {
    if (typeof value !== "string" || value.length > 200) return
    const pool = this.pools.get(kind) ?? []
    this.pools.set(kind, pool)
    if (pool.length < 500 && !pool.includes(value)) pool.push(value)
  }
  resolve(ref: Ref): string {
    const pool = this.pools.get(ref.kind) ?? []
    return pool.length === 0 ? "00000000-0000-4000-8000-000000000000" : pool[ref.n % pool.length]!
  }
  /**
   * Remembers the objects found in a response (created, read or listed), by their shape; a state is a task run's when
   * it belongs to one, or when it came from a task-run route.
   */
  harvest(path: string, value: unknown, states: Kind = path.includes("task_run") ? "task_run_state" : "flow_run_state", depth = 0): void {
    if (depth > 3 || value === null || typeof value !== "object") return
    if (Array.isArray(value)) {
      for (const item of value.slice(0, 50)) this.harvest(path, item, states, depth + 1)
      return
    }
    const o = value as Record<string, unknown>
    const kind: Kind | undefined = "task_key" in o ? "task_run" : "idempotency_key" in o ? "flow_run" : "flow_data" in o ? "deployment"
      : "state_details" in o ? states : "filters" in o ? "saved_search" : "active_slots" in o ? "concurrency_limit"
      : "tags" in o && "name" in o ? "flow" : undefined
    if (kind !== undefined && isUuid(o.id)) this.add(kind, o.id)
    if (kind === "flow") this.add("flow_name", o.name)
    if (kind === "deployment") this.add("deployment_name", o.name)
    if (kind === "concurrency_limit") this.add("tag", o.tag)
    const inner = kind === "task_run" ? "task_run_state" : kind === "flow_run" ? "flow_run_state" : states
    for (const key of ["run", "result", "state"]) if (key in o) this.harvest(path, o[key], inner, depth + 1)
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Values: valid ones from the request schemas, and nasty ones to put in their place

const nastyConstants: ReadonlyArray<unknown> = [
  null, true, false, 0, -1, 1.5, -0.000001, 1e308, -1e308, 2 ** 53 + 2, -(2 ** 63), 2 ** 31, 1e21,
  "", " ", "\u0000", "a\u0000b", "\ud800", "\udfff", "💥🚀", "e\u0301", "\u202e", "\ufeff", "null", "NaN", "Infinity",
  "../../../../etc/passwd", "%00", "..%2f..%2f", "' OR 1=1 --", "\"; DROP TABLE flow; --", "__proto__",
  "1970-01-01T00:00:00+00:00", "9999-12-31T23:59:59+00:00", "0000-01-01T00:00:00Z", "+275760-09-13T00:00:00Z", "2021-02-30T00:00:00Z",
  [], {}, [[]], [null], { "": null }, JSON.parse("{\"__proto__\":{\"polluted\":true},\"constructor\":{\"prototype\":{}}}")
]

const nasty: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...nastyConstants) },
  { weight: 1, arbitrary: fc.string({ maxLength: 30 }) },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 30 }) },
  { weight: 1, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true }) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.uuid() }
)

/** A timestamp: within days of now, anywhere in the years 1–9999, or in one of a few accepted forms. */
const timestamp = fc.oneof(
  fc.integer({ min: -5 * 86_400_000, max: 5 * 86_400_000 }).map((d) => new Date(Date.now() + d).toISOString()),
  fc.date({ min: new Date("0001-01-01T00:00:00Z"), max: new Date("9999-12-31T23:59:59Z"), noInvalidDate: true }).map((d) => d.toISOString()),
  fc.constantFrom("2021-11-19T10:00:00+00:00", "2021-11-19T10:00:00-05:30", "2021-11-19 10:00Z")
)

/** The kind of object a string field names, by the field's name. */
const kindOfField = (field: string | undefined, pathKind: Kind | undefined): Kind | undefined => {
  switch (field) {
    case "flow_id": return "flow"
    case "flow_run_id": return "flow_run"
    case "task_run_id": case "parent_task_run_id": return "task_run"
    case "deployment_id": return "deployment"
    case "id": return pathKind
    default: return undefined
  }
}

const uuidFor = (kind: Kind | undefined): fc.Arbitrary<unknown> =>
  fc.oneof(
    { weight: 6, arbitrary: fc.nat().map((n) => new Ref(kind ?? "flow_run", n)) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...idKinds), fc.nat()).map(([k, n]) => new Ref(k, n)) },
    { weight: 2, arbitrary: fc.uuid() }
  )

const refOr = (kind: Kind, other: fc.Arbitrary<unknown>) =>
  fc.oneof({ weight: 1, arbitrary: fc.nat().map((n) => new Ref(kind, n)) }, { weight: 1, arbitrary: other })

const shortString = fc.string({ maxLength: 12 })

/** Valid-looking values of a schema of the document; `field` is the property the value goes in. */
const valuesOf = (doc: OpenApiDocument, pathKind: Kind | undefined) => {
  const memo = new Map<string, fc.Arbitrary<unknown>>()
  const go = (schema: JsonSchema, field: string | undefined, depth: number): fc.Arbitrary<unknown> => {
    if (depth > 10) return fc.constant(null)
    if (schema.$ref !== undefined) {
      const name = schema.$ref.split("/").pop()!
      if (name === "Timestamp") return timestamp
      if (name === "TimeZone") return fc.constantFrom("UTC", "Europe/Paris", "America/New_York", "Mars/Olympus_Mons")
      const key = `${name}:${field ?? ""}`
      let arbitrary = memo.get(key)
      if (arbitrary === undefined) {
        // A schema met again inside itself (recursion) is cut short with null.
        memo.set(key, fc.constant(null))
        const { $ref: _, ...annotations } = schema
        arbitrary = go({ ...doc.components.schemas[name]!, ...annotations }, field, depth)
        memo.set(key, arbitrary)
      }
      return arbitrary
    }
    if (schema.anyOf !== undefined) {
      const members = schema.anyOf.map((m) => ({ weight: m.type === "null" ? 2 : 3, arbitrary: go(m, field, depth) }))
      return fc.oneof(...members)
    }
    if (schema.enum !== undefined) return fc.constantFrom(...schema.enum)
    switch (schema.type) {
      case "null": return fc.constant(null)
      case "boolean": return fc.boolean()
      case "integer": {
        const min = schema.minimum ?? (schema.exclusiveMinimum !== undefined ? schema.exclusiveMinimum + 1 : -100)
        const max = schema.maximum ?? Math.max(min, 0) + 200
        const edges = [min, max, 0, 1, 2 ** 31 - 1, 2 ** 31, -(2 ** 31) - 1, 2 ** 53 - 1, -(2 ** 53 - 1)]
          .filter((n) => n >= (schema.minimum ?? -Infinity) && n <= (schema.maximum ?? Infinity))
        return fc.oneof({ weight: 4, arbitrary: fc.integer({ min, max }) }, { weight: 1, arbitrary: fc.constantFrom(...edges) })
      }
      case "number": {
        const low = schema.minimum ?? schema.exclusiveMinimum ?? -Infinity
        const high = schema.maximum ?? Infinity
        const min = Number.isFinite(low) ? low : -1000
        const edges = [min, high, 0, 1e-300, 0.001, 1e9, 1e15, 1e300, -1e300, Number.MAX_VALUE]
          .filter((n) => Number.isFinite(n) && (n > low || (n === low && schema.exclusiveMinimum === undefined)) && n <= high)
        return fc.oneof(
          { weight: 4, arbitrary: fc.double({ min, max: Number.isFinite(high) ? high : Math.max(min, 0) + 10_000, noNaN: true, minExcluded: schema.exclusiveMinimum !== undefined }) },
          { weight: 1, arbitrary: fc.constantFrom(...edges) }
        )
      }
      case "string": {
        if (schema.format === "uuid") return uuidFor(kindOfField(field, pathKind))
        if (/ISO-8601/.test(schema.description ?? "")) return timestamp
        switch (field) {
          case "cron": return fc.constantFrom("* * * * *", "0 9 * * 1-5", "*/15 0-6 1,15 * *", "61 * * * *", "a b c d e", "* * *")
          case "rrule": return fc.constantFrom("FREQ=DAILY", "FREQ=HOURLY;COUNT=3", "DTSTART:20200101T000000Z\nRRULE:FREQ=MINUTELY", "FREQ=SECONDLY;INTERVAL=0", "nonsense")
          case "name": return refOr("flow_name", shortString)
          case "tag": return refOr("tag", shortString)
          case "encoding": return fc.constantFrom("orion", "file", "json", "cloudpickle")
        }
        return fc.string({ minLength: schema.minLength ?? 0, maxLength: Math.max(schema.minLength ?? 0, 12) })
      }
      case "array": {
        const items = field === "tags" ? refOr("tag", shortString) : go(schema.items ?? {}, field, depth + 1)
        return fc.array(items, { minLength: schema.minItems ?? 0, maxLength: Math.min(schema.maxItems ?? 4, 4) })
      }
      case "object": {
        const properties = schema.properties ?? {}
        const names = Object.keys(properties)
        if (names.length === 0) {
          const extra = typeof schema.additionalProperties === "object" && schema.additionalProperties.type !== undefined
            ? go(schema.additionalProperties, undefined, depth + 1)
            : fc.jsonValue({ maxDepth: 2 })
          return fc.dictionary(shortString, extra, { maxKeys: 4 })
        }
        // Optional fields are left out half the time, so that most valid bodies also make sense together.
        const required = new Set(schema.required ?? [])
        const fields = names.map((name) => {
          const value = go(properties[name]!, name, depth + 1)
          return required.has(name) ? value.map((v) => [name, v] as const) : fc.option(value.map((v) => [name, v] as const), { freq: 2 })
        })
        return fc.tuple(...fields).map((entries) => Object.fromEntries(entries.filter((e) => e !== null)))
      }
    }
    return fc.jsonValue({ maxDepth: 2 })
  }
  return (schema: JsonSchema) => go(schema, undefined, 0)
}

// ---------------------------------------------------------------------------------------------------------------
// Bodies: a valid value, mutated; spliced raw text stands in for what JSON.stringify cannot say (20k levels, 1e400)

interface Body {
  readonly value?: unknown
  /** The body as is (no JSON encoding). */
  readonly text?: string
  /** Raw JSON text that replaces the string `token` once the value is encoded. */
  readonly splice?: { readonly token: string; readonly text: string }
}

const SPLICE = "\u0001splice\u0001"

/** Every position in a JSON value: the path to it. */
const positions = (value: unknown, path: ReadonlyArray<string | number> = [], out: Array<ReadonlyArray<string | number>> = []) => {
  out.push(path)
  if (out.length > 200 || value === null || typeof value !== "object" || value instanceof Ref) return out
  for (const [k, v] of Object.entries(value)) positions(v, [...path, Array.isArray(value) ? Number(k) : k], out)
  return out
}

const getAt = (value: unknown, path: ReadonlyArray<string | number>): unknown =>
  path.reduce<unknown>((v, k) => (v !== null && typeof v === "object" ? (v as Record<string | number, unknown>)[k] : undefined), value)

const setAt = (value: unknown, path: ReadonlyArray<string | number>, replacement: unknown): unknown => {
  if (path.length === 0) return replacement
  const [head, ...rest] = path
  if (Array.isArray(value)) return value.map((v, i) => (i === head ? setAt(v, rest, replacement) : v))
  const o = value as Record<string, unknown>
  return { ...o, [head!]: setAt(o[head!], rest, replacement) }
}

const removeAt = (value: unknown, path: ReadonlyArray<string | number>): unknown => {
  if (path.length === 0) return undefined
  if (path.length === 1) {
    if (Array.isArray(value)) return value.filter((_, i) => i !== path[0])
    const { [path[0]!]: _, ...rest } = value as Record<string, unknown>
    return rest
  }
  const [head, ...tail] = path
  if (Array.isArray(value)) return value.map((v, i) => (i === head ? removeAt(v, tail) : v))
  const o = value as Record<string, unknown>
  return { ...o, [head!]: removeAt(o[head!], tail) }
}

const pick = <A>(xs: ReadonlyArray<A>, n: number): A => xs[n % xs.length]!

const nested = (depth: number, kind: "array" | "object" | "mixed") => {
  if (kind === "array") return "[".repeat(depth) + "]".repeat(depth)
  if (kind === "object") return "{\"a\":".repeat(depth) + "null" + "}".repeat(depth)
  const open = Array.from({ length: depth }, (_, i) => (i % 2 === 0 ? "[" : "{\"k\":")).join("")
  const close = Array.from({ length: depth }, (_, i) => (i % 2 === 0 ? "]" : "}")).reverse().join("")
  return open + "1" + close
}

const rawTexts = [
  "", " ", "not json", "{", "{\"a\":", "[1,2", "}", "1e400", "-1e400", "123456789012345678901234567890", "null", "true", "\"str\"",
  "\u0000", "{\"name\":\"a\u0000b\"}", "\ufeff{}", "{\"a\":1,\"a\":2}", "[]", "{}", "{\"__proto__\":{\"polluted\":true}}", "NaN", "'single'",
  "{\"a\":\"\\ud800\"}", "{\"a\":\"\\u0000\"}", "\"\\u0000\""
]

const bodies = (valid: fc.Arbitrary<unknown>) =>
  fc.oneof(
    { weight: 12, arbitrary: valid.map((value): Body => ({ value })) },
    {
      weight: 3,
      arbitrary: fc.tuple(valid, fc.nat(), nasty).map(([value, n, bad]): Body => ({ value: setAt(value, pick(positions(value), n), bad) }))
    },
    {
      weight: 1,
      arbitrary: fc.tuple(valid, fc.nat()).map(([value, n]): Body => {
        const at = positions(value).filter((p) => p.length > 0)
        return { value: at.length === 0 ? value : removeAt(value, pick(at, n)) }
      })
    },
    {
      weight: 1,
      arbitrary: fc.tuple(valid, fc.constantFrom("extra", "__proto__", "constructor", "", "id", "\u0000"), nasty).map(([value, key, bad]): Body =>
        value !== null && typeof value === "object" && !Array.isArray(value) ? { value: { ...value, [key]: bad } } : { value: [value, bad] })
    },
    { weight: 1, arbitrary: nasty.map((value): Body => ({ value })) },
    {
      weight: 2,
      arbitrary: fc.tuple(valid, fc.nat(), fc.integer({ min: 1, max: DEEPEST }), fc.constantFrom("array", "object", "mixed") as fc.Arbitrary<"array" | "object" | "mixed">)
        .map(([value, n, depth, kind]): Body => ({ value: setAt(value, pick(positions(value), n), SPLICE), splice: { token: SPLICE, text: nested(depth, kind) } }))
    },
    {
      weight: 2,
      arbitrary: fc.tuple(valid, fc.nat(), fc.constantFrom("\u0000", "a\u0000", "\u0000\u0000z", "\ud800", "x\udc00y", "\udbff\udbff")).map(([value, n, bad]): Body => {
        // Appended to one of the body's strings (else put anywhere): NUL characters and lone surrogates.
        const strings = positions(value).filter((p) => typeof getAt(value, p) === "string")
        if (strings.length === 0) return { value: setAt(value, pick(positions(value), n), bad) }
        const at = pick(strings, n)
        return { value: setAt(value, at, `${String(getAt(value, at))}${bad}`) }
      })
    },
    {
      weight: 1,
      arbitrary: fc.tuple(valid, fc.nat(), fc.constantFrom("1e400", "-1e400", "1e-400", "123456789012345678901234567890", "-0", "0.0000000000000000000001", "9007199254740993"))
        .map(([value, n, number]): Body => ({ value: setAt(value, pick(positions(value), n), SPLICE), splice: { token: SPLICE, text: number } }))
    },
    {
      weight: 1,
      arbitrary: fc.tuple(valid, fc.nat(), fc.constantFrom(10_000, 300_000), fc.constantFrom("x", "é", "💥", "\\"))
        .map(([value, n, length, unit]): Body => ({ value: setAt(value, pick(positions(value), n), unit.repeat(length)) }))
    },
    { weight: 1, arbitrary: fc.constantFrom(...rawTexts).map((text): Body => ({ text })) }
  )

// ---------------------------------------------------------------------------------------------------------------
// Path segments and query values, already percent-encoded (or a Ref, encoded when resolved)

type Segment = string | Ref

const encode = (s: string) => {
  try {
    return encodeURIComponent(s)
  } catch {
    return "%EF%BF%BD" // a lone surrogate cannot be encoded
  }
}

const garbageSegments = [
  "%00", "abc%00def", "..%2f..%2fetc%2fpasswd", "%2e%2e", "..", ".", "%2F", "%", "%zz", "%E0%A4%A", "%C0%AF", "%ff%fe",
  "null", "undefined", "0", "-1", "1e400", "00000000-0000-0000-0000-000000000000", "ffffffff-ffff-ffff-ffff-ffffffffffff",
  "%F0%9F%92%A5", "%E2%80%AE", "%20", "+", "'%3B--", "%3Cscript%3E", "%EF%BB%BF"
]

const segment = (kind: Kind | undefined): fc.Arbitrary<Segment> =>
  fc.oneof(
    { weight: 10, arbitrary: fc.nat().map((n) => new Ref(kind ?? "flow_run", n)) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...idKinds), fc.nat()).map(([k, n]) => new Ref(k, n)) },
    { weight: 2, arbitrary: fc.uuid() },
    { weight: 1, arbitrary: fc.uuid().map((u) => u.toUpperCase()) },
    { weight: 3, arbitrary: fc.constantFrom(...garbageSegments) },
    { weight: 2, arbitrary: fc.string({ maxLength: 40 }).map(encode) },
    { weight: 1, arbitrary: fc.string({ unit: "grapheme", maxLength: 20 }).map(encode) },
    { weight: 1, arbitrary: fc.constantFrom(300, 5_000, 20_000).map((n) => "a".repeat(n)) }
  )

const queryValues = [
  "", "0", "-1", "1", "1.5", "1e400", "-1e400", "99999999999999999999999", "9007199254740993", "NaN", "Infinity", "0x10", "true",
  "%00", "a%00b", "..%2f", "%F0%9F%92%A5", "%zz", "x".repeat(5_000)
]

const queryValue = (kind: Kind | undefined): fc.Arbitrary<Segment> =>
  fc.oneof(
    { weight: 3, arbitrary: fc.nat().map((n) => new Ref(kind ?? "flow_run", n)) },
    { weight: 1, arbitrary: fc.uuid() },
    { weight: 3, arbitrary: fc.constantFrom(...queryValues) },
    { weight: 1, arbitrary: fc.integer().map(String) },
    { weight: 1, arbitrary: fc.string({ maxLength: 20 }).map(encode) }
  )

// ---------------------------------------------------------------------------------------------------------------
// Requests

interface FuzzRequest {
  readonly op: Operation
  readonly path: Record<string, Segment>
  readonly query: ReadonlyArray<readonly [string, Segment]>
  readonly headers: Record<string, string>
  readonly body: Body | undefined
}

/** Values of declared header parameters (as `Last-Event-ID`): numbers of every kind, and text. */
const headerValues = ["0", "1", "-1", "1.5", "1e400", "99999999999999999999", "9007199254740993", "NaN", "abc", "", "x".repeat(5_000)]

/** The kind of object a route's `{id}` names. */
const pathKindOf = (path: string): Kind | undefined => {
  const m = /^\/api\/(\w+)\//.exec(path)
  switch (m?.[1]) {
    case "flows": return "flow"
    case "flow_runs": return "flow_run"
    case "task_runs": return "task_run"
    case "deployments": return "deployment"
    case "flow_run_states": return "flow_run_state"
    case "task_run_states": return "task_run_state"
    case "saved_searches": return "saved_search"
    case "concurrency_limits": return "concurrency_limit"
    default: return undefined
  }
}

/** The kind of object a path parameter names. */
const segmentKind = (path: string, name: string): Kind | undefined =>
  name === "name" || name === "flow_name" ? "flow_name" : name === "deployment_name" ? "deployment_name"
    : name === "tag" ? "tag" : name === "id" ? pathKindOf(path) : undefined

/** Hand-made valid bodies where the schema alone cannot say what is valid. */
const specialBodies = (op: Operation, dataDir: string): fc.Arbitrary<unknown> | undefined => {
  if (op.path === "/api/data/retrieve") {
    const file = (blob: string) => ({ encoding: "orion", blob: JSON.stringify({ encoding: "file", blob }) })
    return fc.oneof(
      fc.nat().map((n) => new Ref("data_document", n)),
      fc.constantFrom(
        `${dataDir}/00000000000000000000000000000000`, `${dataDir}/abc\u0000def`, `${dataDir}/\u0000`, `${dataDir}/../../etc/passwd`,
        `${dataDir}/${"a".repeat(300)}`, `${dataDir}/${"a".repeat(5_000)}`, "/etc/passwd", dataDir, `${dataDir}/`, "", "\u0000", `${dataDir}/.`,
        `${dataDir}/💥`
      ).map(file),
      fc.string().map(file)
    )
  }
  return undefined
}

const requestsFor = (doc: OpenApiDocument, operations: ReadonlyArray<Operation>, dataDir: string) => {
  const perOperation = operations.map((op) => {
    const pathKind = pathKindOf(op.path)
    const values = valuesOf(doc, pathKind)
    const pathParams = op.parameters.filter((p) => p.in === "path")
    const queryParams = op.parameters.filter((p) => p.in === "query")
    const headers = fc.tuple(...op.parameters.filter((p) => p.in === "header").map((p) =>
      fc.option(fc.constantFrom(...headerValues).map((v) => [p.name, v] as const), { freq: 2 })
    )).map((entries) => Object.fromEntries(entries.filter((e) => e !== null)))
    const path = fc.record(Object.fromEntries(pathParams.map((p) => [p.name, segment(segmentKind(op.path, p.name))])))
    const declared = queryParams.map((p) => fc.option(queryValue(kindOfField(p.name, pathKind)).map((v) => [p.name, v] as const), { freq: 3 }))
    const query = fc.tuple(
      fc.tuple(...declared),
      fc.oneof(
        { weight: 4, arbitrary: fc.constant(null) },
        { weight: 1, arbitrary: fc.tuple(fc.constantFrom("limit", "extra", "flow_run_id", "%00", ""), queryValue(undefined)) }
      )
    ).map(([params, extra]) => [...params, extra].filter((p): p is readonly [string, Segment] => p !== null))
    const valid = specialBodies(op, dataDir) ?? (op.body === undefined ? fc.constant({}) : values(op.body))
    const body = op.method === "GET"
      ? fc.constant(undefined)
      : op.contentType === undefined
      ? fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: bodies(valid) })
      : op.contentType === "application/json"
      ? bodies(valid)
      : fc.oneof(fc.uint8Array({ maxLength: 64 }).map((bytes): Body => ({ text: Buffer.from(bytes).toString("latin1") })), bodies(valid))
    // Deletes are rarer than the rest, so that the data they remove is made again faster than it goes.
    return { weight: op.method === "DELETE" ? 1 : 4, arbitrary: fc.record({ op: fc.constant(op), path, query, headers, body }) as fc.Arbitrary<FuzzRequest> }
  })
  return perOperation
}

/** `count` requests drawn from every operation at random, then a few more for each operation that none was drawn for. */
const sampleRequests = (perOperation: ReturnType<typeof requestsFor>, count: number, seed: number): Array<FuzzRequest> => {
  const requests = fc.sample(fc.oneof(...perOperation), { seed, numRuns: count })
  const drawn = new Set(requests.map((r) => r.op))
  perOperation.forEach(({ arbitrary }, i) => {
    const extra = fc.sample(arbitrary, { seed: seed + i + 1, numRuns: 3 })
    if (!drawn.has(extra[0]!.op)) requests.push(...extra)
  })
  return requests
}

// ---------------------------------------------------------------------------------------------------------------
// Sending

interface Sent {
  readonly method: string
  readonly url: string
  readonly headers?: Record<string, string>
  readonly body: string | undefined
}

const destructive = new Set(["/api/admin/database/clear", "/api/admin/database/drop"])

const render = (request: FuzzRequest, pools: Pools): Sent => {
  const resolve = (s: Segment) => (s instanceof Ref ? encode(pools.resolve(s)) : s)
  const path = request.op.path.replace(/\{(\w+)\}/g, (_, name: string) => resolve(request.path[name] ?? ""))
  const query = request.query.map(([k, v]) => `${k}=${resolve(v)}`).join("&")
  let body: string | undefined
  const b = request.body
  if (b !== undefined) {
    if (b.text !== undefined) body = b.text
    else {
      const value = b.value instanceof Ref && b.value.kind === "data_document" ? JSON.parse(pools.resolve(b.value)) : b.value
      body = JSON.stringify(value, (_, v) => (v instanceof Ref ? pools.resolve(v) : v)) ?? ""
      if (b.splice !== undefined) body = body.replace(JSON.stringify(b.splice.token), b.splice.text)
    }
  }
  // The whole database is emptied only at the end, deliberately: the integrity check needs the fuzzed data.
  if (destructive.has(request.op.path) && body !== undefined) {
    try {
      if (JSON.parse(body)?.confirm === true) body = "{\"confirm\":false}"
    } catch {
      // not JSON: refused anyway
    }
  }
  return { method: request.op.method, url: query === "" ? path : `${path}?${query}`, headers: request.headers, body }
}

/** `POST /api/task_runs/{id}/wait_for_slot`: answers when a slot frees or after its timeout. */
const isLongPoll = (path: string) => path.endsWith("/wait_for_slot")

interface Outcome {
  readonly status: number
  readonly text: string
}

/**
 * Sends one request. An event stream is only opened (its status read), then closed; one that has sent nothing yet
 * after 3 s (a replay with nothing to replay waits for the first event or keep-alive) counts as open: status 0.
 */
const send = (base: string, sent: Sent, contentType: string | undefined, streams = false) =>
  Effect.promise(async (): Promise<Outcome> => {
    const abort = new AbortController()
    const timer = setTimeout(() => abort.abort(), !streams ? 15_000 : isLongPoll(sent.url.split("?")[0]!) ? 300 : 3_000)
    try {
      const response = await fetch(`${base}${sent.url}`, {
        method: sent.method,
        signal: abort.signal,
        headers: { ...sent.headers, ...(sent.body === undefined ? {} : { "content-type": contentType ?? "application/json" }) },
        ...(sent.body === undefined ? {} : { body: sent.body })
      })
      if ((response.headers.get("content-type") ?? "").startsWith("text/event-stream")) {
        abort.abort()
        return { status: response.status, text: "" }
      }
      return { status: response.status, text: await response.text() }
    } catch (e) {
      if (streams && abort.signal.aborted) return { status: 0, text: "(held open, nothing sent yet)" }
      return { status: abort.signal.aborted ? 598 : 599, text: `no answer: ${String((e as Error)?.cause ?? e)}` }
    } finally {
      clearTimeout(timer)
    }
  })

const excerpt = (s: string | undefined, n = 300) =>
  s === undefined ? "(no body)" : JSON.stringify(s.length > n ? `${s.slice(0, n)}… (${s.length} chars)` : s)

// ---------------------------------------------------------------------------------------------------------------
// Seed data, through the API

const seed = (pools: Pools) =>
  Effect.gen(function*() {
    const flows = [
      yield* expectStatus(201, "POST", "/api/flows/", { name: unique("fuzz-flow"), tags: ["fuzz", "a"] }),
      yield* expectStatus(201, "POST", "/api/flows/", { name: unique("fuzz-flow"), tags: [] })
    ]
    const deployment = yield* expectStatus(201, "POST", "/api/deployments/", {
      name: "fuzz-deployment", flow_id: flows[0].id, flow_data: { encoding: "file", blob: "/x.ts" }, tags: ["fuzz"],
      schedule: { interval: 3600 }, is_schedule_active: true
    })
    const flowRuns = []
    for (const [i, flow] of [flows[0], flows[0], flows[1], flows[1]].entries()) {
      flowRuns.push(yield* expectStatus(201, "POST", "/api/flow_runs/", { flow_id: flow.id, tags: ["fuzz"], parameters: { i }, ...(i === 1 ? { deployment_id: deployment.id } : {}) }))
    }
    yield* expectStatus(201, "POST", `/api/flow_runs/${flowRuns[0].id}/set_state`, { state: { type: "RUNNING" } })
    yield* expectStatus(201, "POST", `/api/flow_runs/${flowRuns[1].id}/set_state`, { state: { type: "RUNNING" } })
    yield* expectStatus(201, "POST", `/api/flow_runs/${flowRuns[1].id}/set_state`, { state: { type: "COMPLETED" } })
    yield* expectStatus(201, "POST", "/api/concurrency_limits/", { tag: "fuzz", concurrency_limit: 2 })
    for (const [i, run] of [flowRuns[0], flowRuns[0], flowRuns[2]].entries()) {
      const task = yield* expectStatus(201, "POST", "/api/task_runs/", {
        flow_run_id: run.id, task_key: `task-${i}`, dynamic_key: "0", tags: ["fuzz"], empirical_policy: { max_retries: 2, retry_delay_seconds: 0 }
      })
      pools.harvest("/api/task_runs/", task)
      if (i === 0) {
        yield* expectStatus(201, "POST", `/api/task_runs/${task.id}/set_state`, { state: { type: "RUNNING" } })
        yield* expectStatus(201, "POST", `/api/task_runs/${task.id}/set_state`, { state: { type: "FAILED" } })
      }
    }
    const subflow = yield* expectStatus(201, "POST", "/api/flow_runs/", { flow_id: flows[1].id, parent_task_run_id: (yield* expectStatus(200, "POST", "/api/task_runs/filter", {}))[0].id })
    yield* expectStatus(201, "POST", "/api/logs/", flowRuns.map((run, i) => ({ name: "fuzz", level: 20, message: `line ${i}`, timestamp: new Date().toISOString(), flow_run_id: run.id, task_run_id: null })))
    yield* expectStatus(201, "PUT", "/api/saved_searches/", { name: unique("fuzz-search"), filters: { state: ["RUNNING"] } })
    const data = yield* Effect.flatMap(baseUrl, (base) =>
      Effect.promise(() => fetch(`${base}/api/data/persist`, { method: "POST", headers: { "content-type": "application/octet-stream" }, body: "fuzz result" }).then((r) => r.json())))
    pools.add("data_document", JSON.stringify(data))
    for (const response of [...flows, deployment, ...flowRuns, subflow]) pools.harvest("/api/seed", response)
    for (const path of ["/api/flow_runs/filter", "/api/task_runs/filter", "/api/saved_searches/filter", "/api/concurrency_limits/filter"]) {
      pools.harvest(path, yield* expectStatus(200, "POST", path, {}))
    }
    for (const run of flowRuns) pools.harvest("/api/flow_run_states", yield* expectStatus(200, "GET", `/api/flow_run_states/?flow_run_id=${run.id}`))
  })

// ---------------------------------------------------------------------------------------------------------------
// The database's invariants, read straight from its tables

const integrityProblems = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const problems: Array<string> = []
  const check = (what: string, rows: ReadonlyArray<unknown>) => {
    if (rows.length > 0) problems.push(`${what}: ${rows.length} row(s), e.g. ${JSON.stringify(rows.slice(0, 3))}`)
  }
  const stateTypes = ["SCHEDULED", "PENDING", "RUNNING", "COMPLETED", "FAILED", "CANCELLED", "CRASHED", "CANCELLING"]

  for (const kind of ["flow_run", "task_run"] as const) {
    const runs = sql(kind)
    const states = sql(`${kind}_state`)
    const runId = sql(`${kind}_id`)
    check(`${kind} rows without a current state (a run is created with its first state)`,
      yield* sql`SELECT id FROM ${runs} WHERE state_id IS NULL OR state_type IS NULL OR state_name IS NULL`)
    check(`${kind} rows whose state_id is not a state of that run`,
      yield* sql`SELECT r.id, r.state_id FROM ${runs} r WHERE r.state_id IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM ${states} s WHERE s.id = r.state_id AND s.${runId} = r.id)`)
    check(`${kind} rows whose state_type / state_name differ from their current state's`,
      yield* sql`SELECT r.id, r.state_type, r.state_name, s.type, s.name FROM ${runs} r JOIN ${states} s ON s.id = r.state_id
        WHERE s.type <> r.state_type OR s.name <> r.state_name`)
    check(`${kind} rows whose current state is not their newest`,
      yield* sql`SELECT r.id FROM ${runs} r JOIN ${states} s ON s.id = r.state_id
        WHERE EXISTS (SELECT 1 FROM ${states} n WHERE n.${runId} = r.id AND n.timestamp > s.timestamp)`)
    check(`${kind}_state rows of no existing run`,
      yield* sql`SELECT s.id FROM ${states} s WHERE NOT EXISTS (SELECT 1 FROM ${runs} r WHERE r.id = s.${runId})`)
    check(`${kind} rows or states with an unknown state type`,
      [...yield* sql`SELECT id FROM ${runs} WHERE NOT ${sql.in("state_type", stateTypes)}`,
        ...yield* sql`SELECT id FROM ${states} WHERE NOT ${sql.in("type", stateTypes)}`])
    check(`${kind} rows with a negative run count or run time`,
      yield* sql`SELECT id FROM ${runs} WHERE run_count < 0 OR total_run_time < 0`)
    check(`${kind}_state rows without the decision that stored them`,
      yield* sql`SELECT id FROM ${states} WHERE status IS NULL OR status NOT IN ('ACCEPT', 'REJECT') OR proposed_type IS NULL`)
  }
  check("task runs of no existing flow run", yield* sql`SELECT id FROM task_run t WHERE NOT EXISTS (SELECT 1 FROM flow_run r WHERE r.id = t.flow_run_id)`)
  check("flow runs of no existing flow", yield* sql`SELECT id FROM flow_run r WHERE NOT EXISTS (SELECT 1 FROM flow f WHERE f.id = r.flow_id)`)
  check("flow runs of a deployment that does not exist",
    yield* sql`SELECT id FROM flow_run r WHERE deployment_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM deployment d WHERE d.id = r.deployment_id)`)
  check("flow runs of a deployment of another flow",
    yield* sql`SELECT r.id FROM flow_run r JOIN deployment d ON d.id = r.deployment_id WHERE d.flow_id <> r.flow_id`)
  check("subflow runs whose parent task run does not exist",
    yield* sql`SELECT id FROM flow_run r WHERE parent_task_run_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM task_run t WHERE t.id = r.parent_task_run_id)`)
  check("deployments of no existing flow", yield* sql`SELECT id FROM deployment d WHERE NOT EXISTS (SELECT 1 FROM flow f WHERE f.id = d.flow_id)`)
  check("decisions without a state that name a state", yield* sql`SELECT id FROM decision_without_state WHERE state_id IS NOT NULL`)

  // Every stored state was announced by exactly one event. A run's id may be used again once the run is deleted, so
  // each existing run was created by its newest `created` event, and every event about it since names a state of it.
  const events = (yield* sql`SELECT id, event, flow_run_id, task_run_id, payload FROM event ORDER BY id`) as ReadonlyArray<Record<string, unknown>>
  const about: Record<"flow_run" | "task_run", Array<{ readonly id: unknown; readonly created: boolean; readonly run: string; readonly state: unknown }>> =
    { flow_run: [], task_run: [] }
  let logEvents = 0
  for (const e of events) {
    const name = String(e.event)
    const kind = name.startsWith("flow_run.") ? "flow_run" : name.startsWith("task_run.") ? "task_run" : null
    if (kind === null) {
      if (name === "log") logEvents++
      else problems.push(`event ${e.id} of unknown kind ${name}`)
      continue
    }
    const payload = (typeof e.payload === "string" ? JSON.parse(e.payload) : e.payload) as Record<string, unknown>
    const run = String(payload.run_id)
    if ((kind === "flow_run" ? e.flow_run_id : e.task_run_id) !== run) problems.push(`event ${e.id} (${name}) is filed under another run than ${run}`)
    about[kind].push({ id: e.id, created: name.endsWith(".created"), run, state: payload.state_id })
  }
  for (const kind of ["flow_run", "task_run"] as const) {
    const states = (yield* sql`SELECT id, ${sql(`${kind}_id`)} AS run_id FROM ${sql(`${kind}_state`)}`) as ReadonlyArray<{ id: string; run_id: string }>
    const stateRun = new Map(states.map((s) => [s.id, s.run_id]))
    const announced = new Map<unknown, number>()
    for (const e of about[kind]) announced.set(e.state, (announced.get(e.state) ?? 0) + 1)
    check(`${kind}_state rows not announced by exactly one event`, states.filter((s) => announced.get(s.id) !== 1))
    const runIds = new Set(((yield* sql`SELECT id FROM ${sql(kind)}`) as ReadonlyArray<{ id: string }>).map((r) => r.id))
    const createdAt = new Map<string, number>()
    for (const [i, e] of about[kind].entries()) if (e.created) createdAt.set(e.run, i)
    const misfiled = about[kind].filter((e, i) =>
      runIds.has(e.run) && i >= (createdAt.get(e.run) ?? Infinity) && stateRun.get(String(e.state)) !== e.run).map((e) => e.id)
    check(`${kind} rows never announced as created`, [...runIds].filter((id) => !createdAt.has(id)))
    check(`${kind} events since the run's creation that name no state of the run`, misfiled)
  }
  // A state's details name its own run (and a task run's state its flow run).
  for (const kind of ["flow_run", "task_run"] as const) {
    const rows = (kind === "flow_run"
      ? yield* sql`SELECT s.id, s.flow_run_id AS run_id, s.flow_run_id, s.state_details FROM flow_run_state s`
      : yield* sql`SELECT s.id, s.task_run_id AS run_id, t.flow_run_id, s.state_details FROM task_run_state s JOIN task_run t ON t.id = s.task_run_id`
    ) as ReadonlyArray<{ id: string; run_id: string; flow_run_id: string; state_details: unknown }>
    check(`${kind}_state rows whose state_details name another run`, rows.filter((r) => {
      const details = (typeof r.state_details === "string" ? JSON.parse(r.state_details) : r.state_details) as Record<string, unknown>
      return details.flow_run_id !== r.flow_run_id || (kind === "task_run" && details.task_run_id !== r.run_id)
    }).map((r) => r.id))
  }
  const logs = Number(((yield* sql`SELECT COUNT(*) AS n FROM log`)[0] as { n: unknown }).n)
  if (logs !== logEvents) problems.push(`${logs} log rows but ${logEvents} log events (a log and its event are written together)`)

  // JSON columns hold JSON of the right shape.
  const jsonColumns: ReadonlyArray<readonly [string, string, "object" | "array"]> = [
    ["flow", "tags", "array"], ["flow_run", "tags", "array"], ["flow_run", "parameters", "object"], ["flow_run", "context", "object"],
    ["flow_run", "empirical_policy", "object"], ["task_run", "tags", "array"], ["task_run", "task_inputs", "object"],
    ["deployment", "parameters", "object"], ["deployment", "flow_data", "object"], ["deployment", "tags", "array"],
    ["saved_search", "filters", "object"], ["concurrency_limit", "active_slots", "array"], ["event", "payload", "object"],
    ["flow_run_state", "state_details", "object"], ["task_run_state", "state_details", "object"]
  ]
  for (const [table, column, shape] of jsonColumns) {
    const rows = (yield* sql`SELECT id, ${sql(column)} AS v FROM ${sql(table)}`) as ReadonlyArray<{ id: unknown; v: unknown }>
    const bad = rows.filter(({ v }) => {
      try {
        const parsed = typeof v === "string" ? JSON.parse(v) : v
        return shape === "array" ? !Array.isArray(parsed) : parsed === null || typeof parsed !== "object" || Array.isArray(parsed)
      } catch {
        return true
      }
    })
    check(`${table}.${column} that is not a JSON ${shape}`, bad.map((r) => r.id))
  }
  check("concurrency limits below zero", yield* sql`SELECT id FROM concurrency_limit WHERE concurrency_limit < 0`)
  return problems
})

/**
 * Whatever was stored reads back through the API: every page of every list, each run with its states, decisions and
 * graph, and the whole event log replayed over SSE. A write the server accepted but cannot read back is poison.
 */
const readBackProblems = (base: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const problems: Array<string> = []
    const read = (method: string, path: string, body?: unknown) =>
      Effect.map(send(base, { method, url: path, body: body === undefined ? undefined : JSON.stringify(body) }, undefined), (reply) => {
        if (reply.status !== 200) problems.push(`${method} ${path} ${body === undefined ? "" : JSON.stringify(body)} → ${reply.status} ${excerpt(reply.text, 200)}`)
        return reply
      })
    for (const path of ["/api/flows/filter", "/api/flow_runs/filter", "/api/task_runs/filter", "/api/deployments/filter", "/api/saved_searches/filter", "/api/concurrency_limits/filter", "/api/logs/filter"]) {
      for (let offset = 0; ; offset += 200) {
        const page = yield* read("POST", path, { limit: 200, offset })
        if (page.status !== 200 || (JSON.parse(page.text) as Array<unknown>).length < 200) break
      }
    }
    const ids = (table: string) => Effect.map(sql`SELECT id FROM ${sql(table)} ORDER BY id LIMIT 100`, (rows) => rows.map((r) => String((r as { id: unknown }).id)))
    for (const id of yield* ids("flow")) yield* read("GET", `/api/flows/${id}`)
    for (const id of yield* ids("deployment")) yield* read("GET", `/api/deployments/${id}`)
    for (const id of yield* ids("flow_run")) {
      for (const path of [`/api/flow_runs/${id}`, `/api/flow_runs/${id}/graph`, `/api/flow_runs/${id}/decisions`, `/api/flow_run_states/?flow_run_id=${id}`]) yield* read("GET", path)
    }
    for (const id of yield* ids("task_run")) {
      for (const path of [`/api/task_runs/${id}`, `/api/task_runs/${id}/decisions`, `/api/task_run_states/?task_run_id=${id}`]) yield* read("GET", path)
    }
    const newest = Number(((yield* sql`SELECT MAX(id) AS id FROM event`)[0] as { id: unknown }).id ?? 0)
    const replay = newest === 0 ? { events: 0, note: "" } : yield* Effect.promise(() => replayIds(`${base}/api/events?last_event_id=0`, newest))
    const count = Number(((yield* sql`SELECT COUNT(*) AS n FROM event`)[0] as { n: unknown }).n)
    if (replay.events !== count) problems.push(`the event log replayed ${replay.events} of its ${count} events (${replay.note})`)
    return problems
  })

/**
 * How many events an SSE replay sends before the one with id `last` (or before it stops, or 20 s pass), and how it
 * went when it sent none.
 */
const replayIds = async (url: string, last: number): Promise<{ readonly events: number; readonly note: string }> => {
  const abort = new AbortController()
  const timer = setTimeout(() => abort.abort(), 20_000)
  let text = ""
  let note = ""
  try {
    const response = await fetch(url, { signal: abort.signal })
    note = `status ${response.status}`
    const decoder = new TextDecoder()
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      text += decoder.decode(chunk, { stream: true })
      if (text.includes(`id: ${last}\n`)) break
    }
  } catch (e) {
    note += ` ${abort.signal.aborted ? "timed out" : String((e as Error)?.cause ?? e)}` // count what arrived
  } finally {
    clearTimeout(timer)
    abort.abort()
  }
  return { events: (text.match(/^id: \d+\nevent: (?!hello)/gm) ?? []).length, note: `${note}, ${excerpt(text, 200)}` }
}

// ---------------------------------------------------------------------------------------------------------------

describe.each(databases)("API fuzz on $name", (db) => {
  layer(apiServer(db), { excludeTestServices: true })((it) => {
    it.effect(`${REQUESTS} seeded requests over every route of /openapi.json: no 5xx, the server stays up, the data stays whole`, () =>
      Effect.gen(function*() {
        const base = yield* baseUrl
        const doc = (yield* expectStatus(200, "GET", "/openapi.json")) as OpenApiDocument
        const operations = operationsOf(doc)
        expect(operations.length).toBeGreaterThan(50)
        const settings = yield* expectStatus(200, "GET", "/api/admin/settings")
        const pools = new Pools()
        yield* seed(pools)

        const requests = sampleRequests(requestsFor(doc, operations, settings.data.base_path), REQUESTS, SEED)
        expect(new Set(requests.map((r) => r.op)).size).toBe(operations.length)
        const failures: Array<string> = []
        const problems: Array<string> = []
        for (let first = 0; first < requests.length; first += AT_ONCE) {
          const group = requests.slice(first, first + AT_ONCE).map((request) => ({ request, sent: render(request, pools) }))
          const outcomes = yield* Effect.forEach(group, ({ request, sent }) => send(base, sent, request.op.contentType, request.op.streams), { concurrency: "unbounded" })
          for (const [k, { request, sent }] of group.entries()) {
            const outcome = outcomes[k]!
            if (outcome.status >= 500) {
              const headers = Object.keys(sent.headers ?? {}).length > 0 ? ` headers ${JSON.stringify(sent.headers).slice(0, 200)}` : ""
              failures.push(`#${first + k} ${sent.method} ${excerpt(sent.url, 200)}${headers} body ${excerpt(sent.body)} → ${outcome.status} ${excerpt(outcome.text, 200)}`)
            } else if (outcome.status < 300 && outcome.text !== "") {
              try {
                pools.harvest(request.op.path, JSON.parse(outcome.text))
              } catch {
                // not JSON (the bytes of /api/data/retrieve)
              }
            }
          }
          // The invariants hold all along, not only at the end (when deletes may have emptied some tables).
          if ((first + AT_ONCE) % CHECK_EVERY === 0) problems.push(...(yield* integrityProblems).map((p) => `after #${first + AT_ONCE - 1}: ${p}`))
        }

        const health = yield* send(base, { method: "GET", url: "/api/health", body: undefined }, undefined)
        problems.push(...yield* integrityProblems)
        const unread = yield* readBackProblems(base)
        const found = [
          ...failures.map((f) => `5xx: ${f}`),
          ...(health.status === 200 ? [] : [`/api/health answered ${health.status} ${excerpt(health.text)} after the fuzzing`]),
          ...problems.map((p) => `integrity: ${p}`),
          ...unread.map((p) => `read back: ${p}`)
        ]
        expect(found, `seed ${SEED}, ${REQUESTS} requests on ${db.name} (replay with ORION_FUZZ_SEED=${SEED})`).toEqual([])

        // Finally, deliberately: clearing empties every table (and the server stays healthy).
        yield* expectStatus(204, "POST", "/api/admin/database/clear", { confirm: true })
        const sql = yield* SqlClient.SqlClient
        for (const table of ["flow", "flow_run", "task_run", "flow_run_state", "task_run_state", "event", "log", "deployment"]) {
          expect(Number(((yield* sql`SELECT COUNT(*) AS n FROM ${sql(table)}`)[0] as { n: unknown }).n)).toBe(0)
        }
        expect(yield* expectStatus(200, "GET", "/api/health")).toBe(true)
      }), 240_000)
  })
})
