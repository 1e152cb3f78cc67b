/**
 * Faster parsers for the wire Schemas, compiled from the same Schemas. Effect Schema (3.x) answers every node's parse
 * with an `Either`, and builds a parse error for every union member it tries and drops (`NullOr(Uuid)` met with
 * `null`): decoding one task run's answer allocated ~65 KB, and parsing was ~70 % of what a remote client allocates.
 * `fastParsers(schemas)` compiles each node of those Schemas into a plain function that returns the parsed value or
 * `FAIL` — no `Either` between nodes, unions skip members whose kind cannot match — and hands the input to Effect's
 * own parser for that node whenever the quick path fails, meets an effectful step, or is asked for an option it does
 * not take (`propertyOrder: "original"`, `onExcessProperty: "preserve"`): successes are identical, errors read exactly
 * as Effect's (the tests compare both on generated and corrupted values).
 *
 * How: Effect memoises one parser per AST node and direction in two global maps (`effect/ParseResult/decodeMemoMap`,
 * `…/encodeMemoMap`); the compiled parser is placed there before anything compiles a Schema containing the node, so
 * `Schema.decode*`, `HttpApiBuilder` and `HttpApiClient` all use it.
 */
import { Either, Option, ParseResult, Schema, SchemaAST as AST } from "effect"
import { globalValue } from "effect/GlobalValue"

/** What a compiled parser answers when the quick path does not apply: Effect's parser then decides. */
const FAIL: unique symbol = Symbol("FAIL")
type Raw = (input: unknown, options: AST.ParseOptions | undefined) => unknown
type EffectParser = (input: unknown, options?: AST.ParseOptions) => unknown

const effectMemo = (isDecoding: boolean): WeakMap<AST.AST, EffectParser> =>
  globalValue(Symbol.for(isDecoding ? "effect/ParseResult/decodeMemoMap" : "effect/ParseResult/encodeMemoMap"), () => new WeakMap())
const rawMemo = [new WeakMap<AST.AST, Raw>(), new WeakMap<AST.AST, Raw>()] as const
const installed = new WeakSet<EffectParser>()

/** Effect's own parser for `ast`: compiled on a copy of the node, so that it does not find the faster one in the memo. */
const effectParser = (ast: AST.AST, isDecoding: boolean): EffectParser => {
  const copy = Object.assign(Object.create(Object.getPrototypeOf(ast)), ast) as AST.AST
  return (isDecoding ? ParseResult.decodeUnknownEither : ParseResult.encodeUnknownEither)(Schema.make(copy)) as EffectParser
}

/** The value inside a successful `Either`, else FAIL. */
const unwrap = (result: unknown): unknown => Either.isEither(result) && Either.isRight(result) ? result.right : FAIL

/** A quick path that is Effect's own parser: for nodes this module does not compile. */
const viaEffect = (ast: AST.AST, isDecoding: boolean): Raw => {
  let parser: EffectParser | undefined
  return (i, o) => unwrap((parser ??= effectParser(ast, isDecoding))(i, o))
}

const hasOwn = (o: object, k: PropertyKey) => Object.prototype.hasOwnProperty.call(o, k)

/** A test that every input the node accepts passes (it may pass inputs the node refuses). */
const kindOf = (ast: AST.AST, isDecoding: boolean): ((u: unknown) => boolean) => {
  switch (ast._tag) {
    case "Literal": {
      const literal = ast.literal
      return (u) => u === literal
    }
    case "StringKeyword":
    case "TemplateLiteral":
      return (u) => typeof u === "string"
    case "NumberKeyword":
      return (u) => typeof u === "number"
    case "BooleanKeyword":
      return (u) => typeof u === "boolean"
    case "UndefinedKeyword":
      return (u) => u === undefined
    case "TypeLiteral":
      return ast.propertySignatures.length === 0 && ast.indexSignatures.length === 0
        ? (u) => u !== null && u !== undefined
        : (u) => typeof u === "object" && u !== null
    case "TupleType":
      return Array.isArray
    case "Refinement":
      return kindOf(ast.from, isDecoding)
    case "Transformation":
      return kindOf(isDecoding ? ast.from : ast.to, isDecoding)
    case "Union": {
      const kinds = ast.types.map((t) => kindOf(t, isDecoding))
      return (u) => kinds.some((k) => k(u))
    }
    default:
      return () => true
  }
}

const typeLiteral = (ast: AST.TypeLiteral, isDecoding: boolean): Raw => {
  if (ast.propertySignatures.length === 0 && ast.indexSignatures.length === 0) return (u) => u !== null && u !== undefined ? u : FAIL
  if (ast.indexSignatures.some((s) => s.parameter._tag !== "StringKeyword")) return viaEffect(ast, isDecoding)
  const props = ast.propertySignatures.map((ps) => ({ name: ps.name, optional: ps.isOptional, parse: compile(ps.type, isDecoding) }))
  const expected = new Set<PropertyKey>(ast.propertySignatures.map((ps) => ps.name))
  const values = ast.indexSignatures.map((s) => compile(s.type, isDecoding))
  const anyStringKey = values.length > 0
  return (input, options) => {
    if (typeof input !== "object" || input === null || Array.isArray(input)) return FAIL
    if (options !== undefined) {
      if (options.propertyOrder === "original" || options.onExcessProperty === "preserve") return FAIL
      if (options.onExcessProperty === "error") {
        for (const key of Reflect.ownKeys(input)) {
          if (!expected.has(key) && !(anyStringKey && typeof key === "string")) return FAIL
        }
      }
    }
    const exact = options?.exact === true
    const output: Record<PropertyKey, unknown> = {}
    for (let i = 0; i < props.length; i++) {
      const p = props[i]!
      const present = hasOwn(input, p.name)
      if (!present && (p.optional || exact)) {
        if (p.optional) continue
        return FAIL
      }
      const v = p.parse((input as Record<PropertyKey, unknown>)[p.name], options)
      if (v === FAIL) return FAIL
      output[p.name] = v
    }
    for (let s = 0; s < values.length; s++) {
      for (const key of Object.keys(input)) {
        const v = values[s]!((input as Record<string, unknown>)[key], options)
        if (v === FAIL) return FAIL
        if (!expected.has(key)) output[key] = v
      }
    }
    return output
  }
}

const tupleType = (ast: AST.TupleType, isDecoding: boolean): Raw => {
  if (ast.elements.length > 0 || ast.rest.length !== 1) return viaEffect(ast, isDecoding)
  const item = compile(ast.rest[0]!.type, isDecoding)
  return (input, options) => {
    if (!Array.isArray(input)) return FAIL
    const output = new Array(input.length)
    for (let i = 0; i < input.length; i++) {
      const v = item(input[i], options)
      if (v === FAIL) return FAIL
      output[i] = v
    }
    return output
  }
}

/** Effect's internal search tree (members picked by a literal property); its order of candidates is kept. */
type SearchTree = {
  readonly keys: Record<PropertyKey, { readonly buckets: Record<string, ReadonlyArray<AST.AST>> }>
  readonly otherwise: ReadonlyArray<AST.AST>
}
const getSearchTree = (ParseResult as unknown as { getSearchTree?: (members: ReadonlyArray<AST.AST>, isDecoding: boolean) => SearchTree }).getSearchTree

const union = (ast: AST.Union, isDecoding: boolean): Raw => {
  const members = new Map(ast.types.map((t) => [t, { kind: kindOf(t, isDecoding), parse: compile(t, isDecoding) }]))
  const tryInOrder = (candidates: ReadonlyArray<AST.AST>, input: unknown, options: AST.ParseOptions | undefined) => {
    for (let i = 0; i < candidates.length; i++) {
      const member = members.get(candidates[i]!)!
      if (!member.kind(input)) continue
      const v = member.parse(input, options)
      if (v !== FAIL) return v
    }
    return FAIL
  }
  if (getSearchTree === undefined) return viaEffect(ast, isDecoding)
  const tree = getSearchTree(ast.types, isDecoding)
  const keys = Reflect.ownKeys(tree.keys)
  if (keys.length === 0) return (input, options) => tryInOrder(ast.types, input, options)
  return (input, options) => {
    let candidates: ReadonlyArray<AST.AST> = []
    if (typeof input === "object" && input !== null) {
      for (const key of keys) {
        if (!hasOwn(input, key)) continue
        const bucket = tree.keys[key]!.buckets
        const literal = String((input as Record<PropertyKey, unknown>)[key])
        if (hasOwn(bucket, literal)) candidates = candidates.concat(bucket[literal]!)
      }
    }
    if (tree.otherwise.length > 0) candidates = candidates.concat(tree.otherwise)
    return tryInOrder(candidates, input, options)
  }
}

const dropRightRefinement = (ast: AST.AST): AST.AST => AST.isRefinement(ast) ? dropRightRefinement(ast.from) : ast

const refinement = (ast: AST.Refinement, isDecoding: boolean): Raw => {
  if (!isDecoding) {
    // As Effect: the value must pass the whole type side, then its base (refinements dropped) is encoded.
    const validate = compile(AST.typeAST(ast), true)
    const encode = compile(dropRightRefinement(ast.from), false)
    return (input, options) => {
      const v = validate(input, options)
      return v === FAIL ? FAIL : encode(v, options)
    }
  }
  const from = compile(ast.from, true)
  return (input, options) => {
    const v = from(input, options)
    if (v === FAIL) return FAIL
    return Option.isNone(ast.filter(v, options ?? AST.defaultParseOption, ast)) ? v : FAIL
  }
}

const transformation = (ast: AST.Transformation, isDecoding: boolean): Raw => {
  const from = compile(isDecoding ? ast.from : ast.to, isDecoding)
  const to = compile(isDecoding ? ast.to : ast.from, isDecoding)
  const t = ast.transformation
  let transform: (a: unknown, options: AST.ParseOptions, input: unknown) => unknown
  switch (t._tag) {
    case "FinalTransformation": {
      const f = isDecoding ? t.decode : t.encode
      transform = (a, options, input) => unwrap(f(a, options, ast, input))
      break
    }
    case "ComposeTransformation":
      transform = (a) => a
      break
    case "TypeLiteralTransformation": {
      const steps = t.propertySignatureTransformations.map((pst) => ({
        from: isDecoding ? pst.from : pst.to,
        to: isDecoding ? pst.to : pst.from,
        f: isDecoding ? pst.decode : pst.encode
      }))
      transform = (a) => {
        const o = a as Record<PropertyKey, unknown>
        for (const step of steps) {
          const out = step.f(hasOwn(o, step.from) ? Option.some(o[step.from]) : Option.none())
          delete o[step.from]
          if (Option.isSome(out)) o[step.to] = out.value
        }
        return o
      }
      break
    }
  }
  return (input, options) => {
    const a = from(input, options)
    if (a === FAIL) return FAIL
    const b = transform(a, options ?? AST.defaultParseOption, input)
    return b === FAIL ? FAIL : to(b, options)
  }
}

const declaration = (ast: AST.Declaration, isDecoding: boolean): Raw => {
  const parse = isDecoding ? ast.decodeUnknown(...ast.typeParameters) : ast.encodeUnknown(...ast.typeParameters)
  return (input, options) => unwrap(parse(input, options ?? AST.defaultParseOption, ast))
}

const build = (ast: AST.AST, isDecoding: boolean): Raw => {
  if (Option.isSome(AST.getParseOptionsAnnotation(ast)) || Option.isSome(AST.getDecodingFallbackAnnotation(ast))) return viaEffect(ast, isDecoding)
  switch (ast._tag) {
    case "Literal":
    case "StringKeyword":
    case "NumberKeyword":
    case "BooleanKeyword":
    case "UndefinedKeyword": {
      const is = kindOf(ast, isDecoding) // for these, the kind is the whole check
      return (u) => is(u) ? u : FAIL
    }
    case "UnknownKeyword":
    case "AnyKeyword":
    case "VoidKeyword":
      return (u) => u
    case "TypeLiteral":
      return typeLiteral(ast, isDecoding)
    case "TupleType":
      return tupleType(ast, isDecoding)
    case "Union":
      return union(ast, isDecoding)
    case "Refinement":
      return refinement(ast, isDecoding)
    case "Transformation":
      return transformation(ast, isDecoding)
    case "Declaration":
      return declaration(ast, isDecoding)
    default:
      return viaEffect(ast, isDecoding)
  }
}

/** The quick path of `ast` in one direction (compiled once; children first). */
const compile = (ast: AST.AST, isDecoding: boolean): Raw => {
  const memo = rawMemo[isDecoding ? 0 : 1]
  const known = memo.get(ast)
  if (known !== undefined) return known
  let built: Raw | undefined
  // A stand-in while compiling, for schemas that reach themselves (through `Suspend`).
  memo.set(ast, (i, o) => built!(i, o))
  built = build(ast, isDecoding)
  memo.set(ast, built)
  return built
}

/** Puts the compiled parser of `ast` in Effect's memo, in front of Effect's own (which still answers every failure). */
const install = (ast: AST.AST, isDecoding: boolean) => {
  const memo = effectMemo(isDecoding)
  const current = memo.get(ast)
  if (current !== undefined) return // already compiled by Effect (or by us): its parents may hold it
  let raw: Raw | undefined // compiled on first use: a process parses only some of the schemas it loads
  let slow: EffectParser | undefined
  const parser: EffectParser = (input, options) => {
    const v = (raw ??= compile(ast, isDecoding))(input, options)
    return v === FAIL ? (slow ??= effectParser(ast, isDecoding))(input, options) : Either.right(v)
  }
  installed.add(parser)
  memo.set(ast, parser)
}

const childFields = ["type", "types", "from", "to", "propertySignatures", "indexSignatures", "parameter", "elements", "rest", "typeParameters"] as const

/** The nodes below `ast`, each once, children before parents. */
const walk = (ast: AST.AST, visit: (ast: AST.AST) => void, seen: Set<AST.AST>): void => {
  if (seen.has(ast)) return
  seen.add(ast)
  const record = ast as unknown as Record<string, unknown>
  for (const field of childFields) {
    const value = record[field]
    for (const child of Array.isArray(value) ? value : value === undefined ? [] : [value]) {
      const node = (child as { _tag?: unknown })?._tag !== undefined ? child : (child as { type?: unknown })?.type
      if ((node as { _tag?: unknown })?._tag !== undefined) walk(node as AST.AST, visit, seen)
    }
  }
  visit(ast)
}

/** Gives every node of `schemas` the compiled parser, in both directions; call before the schemas are used. */
export const fastParsers = (schemas: Iterable<unknown>): void => {
  const seen = new Set<AST.AST>()
  for (const schema of schemas) {
    if (!Schema.isSchema(schema)) continue
    walk(schema.ast, (ast) => {
      install(ast, true)
      install(ast, false)
    }, seen)
  }
}

/** Whether `ast` parses in `direction` through the compiled parser. */
export const isFast = (ast: AST.AST, direction: "decode" | "encode"): boolean => {
  const parser = effectMemo(direction === "decode").get(ast)
  return parser !== undefined && installed.has(parser)
}
