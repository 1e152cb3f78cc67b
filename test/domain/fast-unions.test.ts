/**
 * The faster union parsers (src/domain/fast-unions.ts) decode and encode exactly as Effect's own: every wire schema is
 * compared with a copy of itself on fresh AST nodes, which Effect parses its own way, on generated values and on
 * values corrupted field by field (the errors must read the same).
 */
import { Arbitrary, Either, FastCheck as fc, ParseResult, Schema, SchemaAST as AST } from "effect"
import { describe, expect, it } from "vitest"
import { OrionApi } from "../../src/api/api.js"
import * as Domain from "../../src/domain/index.js"
import { isFastUnion } from "../../src/domain/fast-unions.js"

const childFields = ["type", "types", "from", "to", "propertySignatures", "indexSignatures", "elements", "rest", "parameter", "typeParameters"] as const

/** A deep copy of an AST: the same schema, with no parser compiled for any of its nodes yet. */
const cloneAst = (node: unknown, copies = new Map<unknown, unknown>()): unknown => {
  if (Array.isArray(node)) return node.map((n) => cloneAst(n, copies))
  if (node === null || typeof node !== "object") return node
  if (copies.has(node)) return copies.get(node)
  const copy = Object.create(Object.getPrototypeOf(node)) as Record<string, unknown>
  copies.set(node, copy)
  for (const key of Reflect.ownKeys(node)) {
    const value = (node as Record<PropertyKey, unknown>)[key]
    copy[key as string] = (childFields as ReadonlyArray<PropertyKey>).includes(key) ? cloneAst(value, copies) : value
  }
  return copy
}

const unionsOf = (ast: AST.AST, out = new Set<AST.AST>()): Set<AST.AST> => {
  if (out.has(ast)) return out
  if (ast._tag === "Union") out.add(ast)
  for (const field of childFields) {
    const value = (ast as unknown as Record<string, unknown>)[field]
    const nodes = Array.isArray(value) ? value : value === undefined ? [] : [value]
    for (const n of nodes) {
      const child = n !== null && typeof n === "object" && "_tag" in n ? n : (n as { type?: AST.AST })?.type
      if (child !== undefined && child !== null && typeof child === "object" && "_tag" in child) unionsOf(child as AST.AST, out)
    }
  }
  return out
}

/** Replaces one field of an object somewhere in `value` (chosen by `pick`) with `replacement`, or removes it. */
const corrupt = (value: unknown, pick: number, replacement: unknown): unknown => {
  const paths: Array<Array<string | number>> = []
  const collect = (v: unknown, path: Array<string | number>) => {
    if (v === null || typeof v !== "object") return
    for (const [k, child] of Object.entries(v)) {
      const p = [...path, Array.isArray(v) ? Number(k) : k]
      paths.push(p)
      collect(child, p)
    }
  }
  collect(value, [])
  if (paths.length === 0) return replacement
  const path = paths[pick % paths.length]!
  const copy = structuredClone(value) as Record<string | number, unknown>
  let target = copy
  for (const k of path.slice(0, -1)) target = target[k] as Record<string | number, unknown>
  const last = path[path.length - 1]!
  if (replacement === "<remove>") delete target[last]
  else target[last] = replacement
  return copy
}

const message = (e: Either.Either<unknown, ParseResult.ParseIssue>) =>
  Either.isRight(e) ? { right: e.right } : { left: ParseResult.TreeFormatter.formatIssueSync(e.left) }

const wire = {
  State: Domain.State, StateCreate: Domain.StateCreate, StateDetails: Domain.StateDetails, FlowRun: Domain.FlowRun,
  FlowRunCreate: Domain.FlowRunCreate, TaskRun: Domain.TaskRun, TaskRunCreate: Domain.TaskRunCreate, Log: Domain.Log,
  OrchestrationResult: Domain.OrchestrationResult, SetStateOutcome: Domain.SetStateOutcome, CreateOutcome: Domain.CreateOutcome,
  TaskRunCreateItem: Domain.TaskRunCreateItem, SetStateItem: Domain.SetStateItem, Decision: Domain.Decision,
  FlowRunFilter: Domain.FlowRunFilter
} as const

describe("faster union parsers", () => {
  it("are installed on the unions of the wire schemas, in both directions", () => {
    for (const schema of [Domain.State, Domain.SetStateOutcome, Domain.CreateOutcome, Domain.TaskRunCreateItem]) {
      const unions = [...unionsOf(schema.ast)]
      const fast = unions.filter((u) => isFastUnion(u, "decode") && isFastUnion(u, "encode"))
      expect(unions.length).toBeGreaterThan(0)
      // Unions told apart by a literal property stay Effect's; the nullable fields (most of them) are faster.
      expect(fast.length / unions.length).toBeGreaterThan(0.8)
    }
    // The API's own schemas too: the batch routes' payloads and answers.
    const endpoints = OrionApi.groups["task_runs"]!.endpoints as Record<string, { payloadSchema: { _tag: string; value?: Schema.Schema.Any }; successSchema: Schema.Schema.Any }>
    for (const name of ["setStates", "createMany"]) {
      const e = endpoints[name]!
      for (const ast of [e.payloadSchema.value!.ast, e.successSchema.ast]) {
        const unions = [...unionsOf(ast)]
        expect(unions.length).toBeGreaterThan(0)
        expect(unions.filter((u) => isFastUnion(u, "decode")).length / unions.length).toBeGreaterThan(0.8)
      }
    }
  })

  for (const [name, schema] of Object.entries(wire)) {
    it(`${name}: decode and encode agree with Effect's own union parser`, () => {
      const plain = Schema.make(cloneAst(schema.ast) as AST.AST) as Schema.Schema<unknown, unknown>
      expect(unionsOf(plain.ast).size).toBe(unionsOf(schema.ast).size)
      for (const u of unionsOf(plain.ast)) expect(isFastUnion(u, "decode")).toBe(false)
      const decodeFast = ParseResult.decodeUnknownEither(schema as Schema.Schema<unknown, unknown>)
      const decodePlain = ParseResult.decodeUnknownEither(plain)
      const encodeFast = ParseResult.encodeUnknownEither(schema as Schema.Schema<unknown, unknown>)
      const encodePlain = ParseResult.encodeUnknownEither(plain)
      const strict = { onExcessProperty: "error", errors: "all" } as const
      fc.assert(fc.property(Arbitrary.make(schema as Schema.Schema<unknown, unknown>), fc.nat(), fc.constantFrom(null, "x", 7, true, [], {}, "<remove>"), (value, pick, replacement) => {
        const encoded = Schema.encodeSync(plain)(value)
        expect(message(encodeFast(value))).toEqual(message(encodePlain(value)))
        expect(message(decodeFast(encoded))).toEqual(message(decodePlain(encoded)))
        expect(message(decodeFast(encoded, strict))).toEqual(message(decodePlain(encoded, strict)))
        const broken = corrupt(encoded, pick, replacement)
        expect(message(decodeFast(broken))).toEqual(message(decodePlain(broken)))
        expect(message(decodeFast(broken, strict))).toEqual(message(decodePlain(broken, strict)))
        const brokenValue = corrupt(value, pick, replacement)
        expect(message(encodeFast(brokenValue))).toEqual(message(encodePlain(brokenValue)))
      }), { numRuns: 150 })
    })
  }
})
