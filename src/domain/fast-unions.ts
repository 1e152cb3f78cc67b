/**
 * Faster union parsing for the wire Schemas. Effect Schema (3.x) decodes a union by trying its members in order, and
 * every member that fails first builds a parse error: `NullOr(Uuid)` met with `null` builds one, and a state carries
 * a dozen such fields — about half of what a remote client allocates per task run. `fastUnions` gives every union
 * reachable from the Schemas it is handed a parser that skips the members whose kind cannot match the input (a string
 * member for `null`, an object member for a string), tries the others in the same order with the same member parsers,
 * and hands the input to Effect's own union parser whenever no member accepts it (so errors read exactly as before)
 * or a member is effectful. Decoding and encoding give the same results as before, only sooner; tests check both.
 *
 * How: Effect memoises one parser per AST node and direction in two global maps (`effect/ParseResult/decodeMemoMap`,
 * `…/encodeMemoMap`); the faster parser is placed there before any Schema containing the union is compiled. Unions
 * whose members are told apart by a literal property (`{ type: "accept_details" } | …`) are left to Effect, which
 * already goes straight to the matching member.
 */
import { Either, Option, ParseResult, Schema, SchemaAST as AST } from "effect"
import { globalValue } from "effect/GlobalValue"

type Parser = (input: unknown, options?: AST.ParseOptions) => unknown

const memo = (isDecoding: boolean): WeakMap<AST.AST, Parser> =>
  globalValue(Symbol.for(isDecoding ? "effect/ParseResult/decodeMemoMap" : "effect/ParseResult/encodeMemoMap"), () => new WeakMap())

const fastParsers = new WeakSet<Parser>()

/** Effect's parser for `ast` in one direction, compiled (and memoised by Effect) on first use. */
const parserOf = (ast: AST.AST, isDecoding: boolean): Parser => {
  const known = memo(isDecoding).get(ast)
  if (known !== undefined) return known
  if (isDecoding) ParseResult.decodeUnknownEither(Schema.make(ast))
  else ParseResult.encodeUnknownEither(Schema.make(ast))
  return memo(isDecoding).get(ast)!
}

/** A test that every input the member accepts passes (it may pass inputs the member refuses). */
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

/** Whether Effect would pick this member by a literal property (then its own union parser is as quick). */
const hasLiteralKey = (ast: AST.AST, isDecoding: boolean): boolean => {
  switch (ast._tag) {
    case "TypeLiteral":
      return ast.propertySignatures.some((p) =>
        !p.isOptional && AST.isLiteral(isDecoding ? AST.encodedAST(p.type) : AST.typeAST(p.type)))
    case "TupleType":
      return ast.elements.some((e) => !e.isOptional && AST.isLiteral(isDecoding ? AST.encodedAST(e.type) : AST.typeAST(e.type)))
    case "Refinement":
      return hasLiteralKey(ast.from, isDecoding)
    case "Transformation":
      return hasLiteralKey(isDecoding ? ast.from : ast.to, isDecoding)
    case "Declaration": {
      const surrogate = AST.getSurrogateAnnotation(ast)
      return Option.isSome(surrogate) && hasLiteralKey(surrogate.value, isDecoding)
    }
    case "Suspend":
      return true // Effect looks through it, perhaps into a recursive schema: leave such unions to Effect
    default:
      return false
  }
}

const eligible = (ast: AST.Union, isDecoding: boolean) =>
  Option.isNone(AST.getParseOptionsAnnotation(ast)) && Option.isNone(AST.getDecodingFallbackAnnotation(ast)) &&
  !ast.types.some((t) => hasLiteralKey(t, isDecoding))

const install = (ast: AST.Union, isDecoding: boolean) => {
  const map = memo(isDecoding)
  const existing = map.get(ast)
  if (existing !== undefined && fastParsers.has(existing)) return
  if (!eligible(ast, isDecoding)) return
  const effects = parserOf(ast, isDecoding)
  const members = ast.types.map((t) => ({ ast: t, kind: kindOf(t, isDecoding), parse: undefined as Parser | undefined }))
  const fast: Parser = (input, options) => {
    for (const member of members) {
      if (!member.kind(input)) continue
      const result = (member.parse ??= parserOf(member.ast, isDecoding))(input, options)
      if (!Either.isEither(result)) break // an effectful member: Effect's parser orders it with the others
      if (Either.isRight(result)) return result
    }
    return effects(input, options)
  }
  fastParsers.add(fast)
  map.set(ast, fast)
}

/** The nodes below `ast` that its parsers use, each once. */
const walk = (ast: AST.AST, visit: (ast: AST.AST) => void, seen: Set<AST.AST>): void => {
  if (seen.has(ast)) return
  seen.add(ast)
  switch (ast._tag) {
    case "TypeLiteral":
      ast.propertySignatures.forEach((p) => walk(p.type, visit, seen))
      ast.indexSignatures.forEach((s) => { walk(s.parameter, visit, seen); walk(s.type, visit, seen) })
      break
    case "TupleType":
      ast.elements.forEach((e) => walk(e.type, visit, seen))
      ast.rest.forEach((r) => walk(r.type, visit, seen))
      break
    case "Union":
      ast.types.forEach((t) => walk(t, visit, seen))
      break
    case "Refinement":
      walk(ast.from, visit, seen)
      break
    case "Transformation":
      walk(ast.from, visit, seen)
      walk(ast.to, visit, seen)
      break
    case "Declaration":
      ast.typeParameters.forEach((t) => walk(t, visit, seen))
      break
  }
  visit(ast) // members first: a union's members are compiled with their own faster unions
}

/** Gives every union reachable from `schemas` the faster parser, in both directions; call before they are used. */
export const fastUnions = (schemas: Iterable<unknown>): void => {
  const seen = new Set<AST.AST>()
  for (const schema of schemas) {
    if (!Schema.isSchema(schema)) continue
    walk(schema.ast, (ast) => {
      if (ast._tag !== "Union") return
      install(ast, true)
      install(ast, false)
    }, seen)
  }
}

/** Whether `ast` (a union) parses in `direction` through the faster parser. */
export const isFastUnion = (ast: AST.AST, direction: "decode" | "encode"): boolean => {
  const parser = memo(direction === "decode").get(ast)
  return parser !== undefined && fastParsers.has(parser)
}
