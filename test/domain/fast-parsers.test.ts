/**
 * The compiled parsers (src/domain/fast-parsers.ts) decode and encode exactly as Effect's own: every wire schema is
 * compared with a copy of itself on fresh AST nodes, which Effect parses its own way, on generated values and on
 * values corrupted field by field (the errors must read the same), with and without the options the API uses.
 */
import { Arbitrary, Either, FastCheck as fc, Option, ParseResult, Schema, SchemaAST as AST } from "effect"
import { globalValue } from "effect/GlobalValue"
import { spawnSync } from "node:child_process"
import { describe, expect, it } from "vitest"
import { OrionApi } from "../../src/api/api.js"
import * as Domain from "../../src/domain/index.js"
import { isFast } from "../../src/domain/fast-parsers.js"

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

/** Replaces one field of an object somewhere in `value` (chosen by `pick`) with `replacement`, removes it, or adds an unknown field beside it. */
const corrupt = (value: unknown, pick: number, replacement: unknown): unknown => {
  const paths: Array<Array<string | number>> = []
  const collect = (v: unknown, path: Array<string | number>) => {
    if (v === null || typeof v !== "object" || !(Array.isArray(v) || Object.getPrototypeOf(v) === Object.prototype)) return
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
  else if (replacement === "<extra>") {
    const host = (typeof target[last] === "object" && target[last] !== null ? target[last] : target) as Record<string, unknown>
    host["not_a_field"] = 1
  } else target[last] = replacement
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

describe("compiled parsers", () => {
  it("are installed on the nodes of the wire schemas, in both directions", () => {
    for (const schema of [Domain.State, Domain.SetStateOutcome, Domain.CreateOutcome, Domain.TaskRunCreateItem]) {
      const unions = [...unionsOf(schema.ast)]
      const fast = unions.filter((u) => isFast(u, "decode") && isFast(u, "encode"))
      expect(unions.length).toBeGreaterThan(0)
      expect(fast.length).toBe(unions.length)
    }
    // The API's own schemas too: the batch routes' payloads and answers.
    const endpoints = OrionApi.groups["task_runs"]!.endpoints as Record<string, { payloadSchema: { _tag: string; value?: Schema.Schema.Any }; successSchema: Schema.Schema.Any }>
    for (const name of ["setStates", "createMany"]) {
      const e = endpoints[name]!
      for (const ast of [e.payloadSchema.value!.ast, e.successSchema.ast]) {
        const unions = [...unionsOf(ast)]
        expect(unions.length).toBeGreaterThan(0)
        expect(unions.filter((u) => isFast(u, "decode")).length).toBe(unions.length)
        expect(isFast(ast, "decode") && isFast(ast, "encode")).toBe(true)
      }
    }
  })

  const routes = Object.values(OrionApi.groups).flatMap((group) =>
    Object.values(group.endpoints).flatMap((e) =>
      [["payload", e.payloadSchema], ["path", e.pathSchema], ["urlParams", e.urlParamsSchema]].flatMap(([what, schema]) =>
        Option.isSome(schema as Option.Option<Schema.Schema.Any>) ? [[`${group.identifier}.${e.name} ${what}`, (schema as Option.Some<Schema.Schema.Any>).value] as const] : []
      ).concat([[`${group.identifier}.${e.name} success`, e.successSchema as Schema.Schema.Any] as const])))

  for (const [name, schema, numRuns] of [
    ...Object.entries(wire).map(([n, s]) => [n, s, 150] as const),
    ...routes.map(([n, s]) => [n, s, 25] as const)
  ]) {
    it(`${name}: decode and encode agree with Effect's own parser`, () => {
      const plain = Schema.make(cloneAst(schema.ast) as AST.AST) as Schema.Schema<unknown, unknown>
      expect(unionsOf(plain.ast).size).toBe(unionsOf(schema.ast).size)
      for (const u of unionsOf(plain.ast)) expect(isFast(u, "decode")).toBe(false)
      const decodeFast = ParseResult.decodeUnknownEither(schema as Schema.Schema<unknown, unknown>)
      const decodePlain = ParseResult.decodeUnknownEither(plain)
      const encodeFast = ParseResult.encodeUnknownEither(schema as Schema.Schema<unknown, unknown>)
      const encodePlain = ParseResult.encodeUnknownEither(plain)
      const strict = { onExcessProperty: "error", errors: "all" } as const
      const others = [{ exact: true }, { propertyOrder: "original" }, { onExcessProperty: "preserve" }] as const
      fc.assert(fc.property(Arbitrary.make(schema as Schema.Schema<unknown, unknown>), fc.nat(), fc.constantFrom(null, "x", 7, true, [], {}, "<remove>", "<extra>"), (value, pick, replacement) => {
        const encoded = Schema.encodeSync(plain)(value)
        expect(message(encodeFast(value))).toEqual(message(encodePlain(value)))
        expect(message(decodeFast(encoded))).toEqual(message(decodePlain(encoded)))
        expect(message(decodeFast(encoded, strict))).toEqual(message(decodePlain(encoded, strict)))
        const broken = corrupt(encoded, pick, replacement)
        expect(message(decodeFast(broken))).toEqual(message(decodePlain(broken)))
        expect(message(decodeFast(broken, strict))).toEqual(message(decodePlain(broken, strict)))
        for (const options of others) {
          expect(JSON.stringify(message(decodeFast(broken, options)))).toEqual(JSON.stringify(message(decodePlain(broken, options))))
        }
        // The same keys in the same order, not only equal values.
        expect(JSON.stringify(message(decodeFast(encoded)))).toEqual(JSON.stringify(message(decodePlain(encoded))))
        const brokenValue = corrupt(value, pick, replacement)
        expect(message(encodeFast(brokenValue))).toEqual(message(encodePlain(brokenValue)))
      }), { numRuns })
    })
  }
})

describe("where the compiled parsers come from", () => {
  it("Effect still reads the memo map they are placed in: a parser put there is the one Schema.decode runs", () => {
    // If Effect renames or moves its parser memo (an internal), the compiled parsers silently stop being used: fail here.
    const probe = Schema.Struct({ probe: Schema.String })
    const memo = globalValue(Symbol.for("effect/ParseResult/decodeMemoMap"), () => new WeakMap<AST.AST, unknown>())
    memo.set(probe.ast, () => Either.right({ probe: "from the memo" }))
    expect(Schema.decodeUnknownSync(probe)({ probe: "from the input" })).toEqual({ probe: "from the memo" })
  })

  it("the SDK's entry installs them before any of its modules compiles a parser; importing the domain alone does not", () => {
    const check = (entry: string) => {
      const script = `const Domain = await import("./src/domain/index.ts"); ${entry ? `await import("${entry}");` : ""}
        const { isFast } = await import("./src/domain/fast-parsers.ts")
        console.log(JSON.stringify([isFast(Domain.RunPolicy.ast, "decode"), isFast(Domain.FlowRun.ast, "encode")]))`
      const out = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { encoding: "utf8" })
      expect(out.stderr).toBe("")
      return JSON.parse(out.stdout.trim()) as [boolean, boolean]
    }
    expect(check("")).toEqual([false, false])
    // RunPolicy is compiled when src/sdk/flow.ts loads (its decoder is a module constant): still the fast one.
    expect(check("./src/index.ts")).toEqual([true, true])
  }, 60_000)
})
