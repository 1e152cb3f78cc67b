/**
 * The result store (spec §7.13): a small result is kept in its state's data document; a larger one becomes a file
 * holding a DataDocument (or, in remote mode, data stored by the server: a `ResultBackend`), and its state carries only
 * a reference to it, e.g. `{encoding: "file", blob: <path>}`.
 * Serializers turn values into text: "json", "v8", "text", or custom.
 */
import { type ConfigError, Context, Effect, Layer, Option, Schema } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import * as v8 from "node:v8"
import { DataDocument } from "../src/domain/data.js"
import { resultsDir, resultsInlineMaxBytes } from "../src/settings.js"
import { makeDirectory } from "../src/storage/directories.js"

/** Turns a value into UTF-8 text and back; `encoding` names it in DataDocuments. `encode` throws when it cannot. */
export interface Serializer {
  readonly encoding: string
  readonly encode: (value: unknown) => string
  readonly decode: (text: string) => unknown
}

/** The value cannot be written with the chosen serializer; `message` names where and why. */
export class ResultNotSerializable extends Schema.TaggedError<ResultNotSerializable>()("ResultNotSerializable", {
  message: Schema.String
}) {}

/** A result could not be written or read back (I/O, missing file, unknown encoding, corrupt document). */
export class ResultStoreError extends Schema.TaggedError<ResultStoreError>()("ResultStoreError", {
  message: Schema.String
}) {}

// ---------------------------------------------------------------------------------------------------------------
// Value walking: find what a serializer would lose, and say where.

const identifier = /^[A-Za-z_$][\w$]*$/
const keyPath = (base: string, key: string) => (identifier.test(key) ? `${base}.${key}` : `${base}[${JSON.stringify(key)}]`)
const article = (word: string) => (/^[aeio]/i.test(word) ? `an ${word}` : `a ${word}`)
const className = (o: object) => {
  const name = (Object.getPrototypeOf(o) as { constructor?: { name?: unknown } } | null)?.constructor?.name
  return typeof name === "string" && name !== "" ? name : undefined
}

const builtinErrors = new Set<unknown>([Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError].map((c) => c.prototype))
const viewPrototypes = new Set<unknown>([
  Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array, Float32Array, Float64Array,
  BigInt64Array, BigUint64Array, DataView, Buffer
].map((c) => c.prototype))
const boxedPrototypes = new Set<unknown>([Number.prototype, String.prototype, Boolean.prototype, BigInt.prototype])

/** What a non-plain object is, in words: "a Date", "a Uint8Array", "an instance of class Point". */
const describeObject = (o: object): string => {
  if (o instanceof Date) return "a Date"
  if (o instanceof Map) return "a Map"
  if (o instanceof Set) return "a Set"
  if (o instanceof RegExp) return "a RegExp"
  if (o instanceof Promise) return "a Promise"
  if (ArrayBuffer.isView(o) || o instanceof ArrayBuffer) return article(className(o) ?? "binary buffer")
  if (boxedPrototypes.has(Object.getPrototypeOf(o))) return `a boxed ${className(o)}`
  if (o instanceof Error) return `an error (${className(o) ?? "Error"})`
  const name = className(o)
  return name ? `an instance of class ${name}` : "an object with a custom prototype"
}

const describePrimitive = (v: unknown): string | undefined => {
  switch (typeof v) {
    case "function": return "a function"
    case "symbol": return "a symbol"
    case "bigint": return "a bigint"
    case "undefined": return "undefined"
    case "number": return Number.isNaN(v) ? "NaN" : Number.isFinite(v) ? undefined : v > 0 ? "Infinity" : "-Infinity"
    default: return undefined
  }
}

const isPlainObject = (o: object) => {
  const proto = Object.getPrototypeOf(o)
  return proto === Object.prototype || proto === null
}

interface Problem { readonly path: string; readonly kind: string }

/** The first thing in `value` that JSON would drop or change, if any. Shared references are fine; cycles are not. */
const findJsonProblem = (value: unknown): Problem | undefined => {
  const ancestors = new Set<object>()
  const visit = (v: unknown, at: string): Problem | undefined => {
    const primitive = describePrimitive(v)
    if (primitive !== undefined) return { path: at, kind: primitive }
    if (typeof v !== "object" || v === null) return undefined
    if (ancestors.has(v)) return { path: at, kind: "a circular reference" }
    const isArray = Array.isArray(v) && Object.getPrototypeOf(v) === Array.prototype
    if (!isArray && !isPlainObject(v)) return { path: at, kind: describeObject(v) }
    if (Object.getOwnPropertySymbols(v).length > 0) return { path: at, kind: "an object with symbol keys" }
    ancestors.add(v)
    let found: Problem | undefined
    if (isArray) {
      const items = v as ReadonlyArray<unknown>
      for (let i = 0; i < items.length && found === undefined; i++) {
        found = i in items ? visit(items[i], `${at}[${i}]`) : { path: `${at}[${i}]`, kind: "an empty slot of a sparse array" }
      }
    } else {
      for (const key of Object.keys(v)) {
        found = visit((v as Record<string, unknown>)[key], keyPath(at, key))
        if (found !== undefined) break
      }
    }
    ancestors.delete(v)
    return found
  }
  return visit(value, "$")
}

/** The first thing in `value` that v8 serialization cannot clone, or would bring back as a different kind of thing. */
const findV8Problem = (value: unknown): Problem | undefined => {
  const visited = new Set<object>()
  const visit = (v: unknown, at: string): Problem | undefined => {
    if (typeof v === "function") return { path: at, kind: "a function" }
    if (typeof v === "symbol") return { path: at, kind: "a symbol" }
    if (typeof v !== "object" || v === null || visited.has(v)) return undefined
    visited.add(v)
    const proto = Object.getPrototypeOf(v)
    if (v instanceof Map && proto === Map.prototype) {
      let i = 0
      for (const [k, item] of v) {
        const at2 = `${at}.get(${typeof k === "string" || typeof k === "number" ? JSON.stringify(k) : `<key #${i}>`})`
        const found = visit(k, `${at}.keys()[${i}]`) ?? visit(item, at2)
        if (found) return found
        i++
      }
      return undefined
    }
    if (v instanceof Set && proto === Set.prototype) {
      let i = 0
      for (const item of v) {
        const found = visit(item, `${at}.values()[${i++}]`)
        if (found) return found
      }
      return undefined
    }
    if (proto === Date.prototype || proto === RegExp.prototype || proto === ArrayBuffer.prototype ||
      viewPrototypes.has(proto) || boxedPrototypes.has(proto) || builtinErrors.has(proto)) return undefined
    const isArray = Array.isArray(v) && proto === Array.prototype
    if (!isArray && !isPlainObject(v)) return { path: at, kind: describeObject(v) }
    if (Object.getOwnPropertySymbols(v).length > 0) return { path: at, kind: "an object with symbol keys" }
    if (isArray) {
      const items = v as ReadonlyArray<unknown>
      for (let i = 0; i < items.length; i++) {
        const found = i in items ? visit(items[i], `${at}[${i}]`) : undefined
        if (found) return found
      }
      return undefined
    }
    for (const key of Object.keys(v)) {
      const found = visit((v as Record<string, unknown>)[key], keyPath(at, key))
      if (found) return found
    }
    return undefined
  }
  return visit(value, "$")
}

const notSerializable = (encoding: string, problem: Problem, advice: string) =>
  new ResultNotSerializable({ message: `${problem.path} is ${problem.kind}: the "${encoding}" serializer cannot store it; ${advice}` })

// ---------------------------------------------------------------------------------------------------------------
// Built-in serializers.

/** "json": plain data only (objects, arrays, strings, finite numbers, booleans, null); rejects anything JSON would mangle. */
export const jsonSerializer: Serializer = {
  encoding: "json",
  encode: (value) => {
    const problem = findJsonProblem(value)
    if (problem) {
      throw notSerializable("json", problem, findV8Problem(value) === undefined
        ? `use the "v8" serializer, which keeps it`
        : "return plain data (objects, arrays, strings, numbers, booleans, null) instead")
    }
    return JSON.stringify(value)
  },
  decode: (text) => JSON.parse(text)
}

/** "v8": node:v8 structured serialization, base64; keeps Date, Map, Set, BigInt, typed arrays, undefined and cycles. */
export const v8Serializer: Serializer = {
  encoding: "v8",
  encode: (value) => {
    const problem = findV8Problem(value)
    if (problem) throw notSerializable("v8", problem, "return plain data, Dates, Maps, Sets, typed arrays or built-in errors instead")
    return v8.serialize(value).toString("base64")
  },
  decode: (text) => v8.deserialize(Buffer.from(text, "base64"))
}

/** "text": a string, stored as is. */
export const textSerializer: Serializer = {
  encoding: "text",
  encode: (value) => {
    if (typeof value === "string") return value
    const kind = describePrimitive(value) ?? (typeof value === "object" && value !== null
      ? (Array.isArray(value) ? "an array" : isPlainObject(value) ? "an object" : describeObject(value))
      : article(typeof value))
    throw notSerializable("text", { path: "$", kind }, `the "text" serializer takes strings only; use "json" or "v8"`)
  },
  decode: (text) => text
}

// ---------------------------------------------------------------------------------------------------------------
// The store.

export class ResultStore extends Context.Tag("orion/ResultStore")<ResultStore, {
  /** Persists a value: null/undefined → null (nothing stored); a small one → itself, inline; otherwise the backend's reference (`{encoding: "file", blob: <absolute path>}`). */
  readonly persist: (value: unknown, serializer?: Serializer) => Effect.Effect<DataDocument | null, ResultNotSerializable | ResultStoreError>
  /** Resolves a reference: null → undefined; "file" → the stored document, decoded; inline documents decode directly. */
  readonly retrieve: (doc: DataDocument | null) => Effect.Effect<unknown, ResultStoreError>
  /** Registers a custom serializer so `retrieve` can decode its encoding (json, v8 and text are built in). */
  readonly register: (serializer: Serializer) => Effect.Effect<void>
}>() {}

/** `ORION_RESULTS_INLINE_MAX_BYTES`'s default: a result's text up to 4 KiB is kept in its state (README "Settings"). */
export const DEFAULT_INLINE_MAX_BYTES = 4096

/** Whether a serialized result is small enough to be kept in its state: its UTF-8 length at most `max`. */
const fitsInline = (blob: string, max: number) => blob.length <= max && (blob.length * 3 <= max || Buffer.byteLength(blob, "utf8") <= max)

/** Encodings the store itself interprets: a file reference, and the spec's `orion` wrapper (blob = JSON of an inner document). */
const reserved = new Set(["file", "orion"])
const decodeDocument = Schema.decodeUnknownEither(Schema.parseJson(DataDocument))
const errorMessage = (e: unknown) => (e instanceof Error ? e.message : String(e))

/**
 * Where a store keeps the documents it persists. `write` stores a serialized DataDocument's text and answers the
 * reference that states carry; `read`, given a reference of its own, answers the stored text (none: not its own).
 */
export interface ResultBackend {
  readonly write: (text: string) => Effect.Effect<DataDocument, ResultStoreError>
  readonly read: (doc: DataDocument) => Option.Option<Effect.Effect<string, ResultStoreError>>
}

/** Results as files under `directory` (created on first write), referenced as `{encoding: "file", blob: <path>}`. */
export const fileBackend = (directory: string): ResultBackend => {
  const root = path.resolve(directory)

  // The directory is created once, on first use, by whichever persist gets there first; a failure lets the next one retry.
  let ready: Promise<void> | undefined
  const ensureDirectory = () =>
    ready ??= makeDirectory(root).then(() => undefined, (e) => {
      ready = undefined
      throw e
    })

  const write = async (text: string): Promise<string> => {
    await ensureDirectory()
    const file = path.join(root, `${crypto.randomUUID()}.json`)
    const tmp = `${file}.tmp`
    try {
      await fs.writeFile(tmp, text)
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e
      ready = undefined // the directory was removed under us: make it again, once
      await ensureDirectory()
      await fs.writeFile(tmp, text)
    }
    await fs.rename(tmp, file)
    return file
  }

  return {
    write: (text) =>
      Effect.tryPromise({
        try: () => write(text),
        catch: (e) => new ResultStoreError({ message: `cannot write a result under ${root}: ${errorMessage(e)}` })
      }).pipe(Effect.map((file): DataDocument => ({ encoding: "file", blob: file }))),
    read: (doc) => (doc.encoding === "file" ? Option.some(readFile(doc.blob)) : Option.none())
  }
}

const readFile = (file: string) =>
  Effect.tryPromise({
    try: () => fs.readFile(file, "utf8"),
    catch: (e) => new ResultStoreError({
      message: (e as NodeJS.ErrnoException).code === "ENOENT"
        ? `result file ${file} does not exist`
        : `cannot read result file ${file}: ${errorMessage(e)}`
    })
  })

/**
 * A result store over `backend`: values are serialized here and, when their text is at most `inlineMaxBytes` long,
 * kept in the state's own data document (`{encoding: "json", blob: "42"}`: no file, nothing more to write or read);
 * larger ones are stored by the backend, and states carry its reference.
 */
export const makeStore = (backend: ResultBackend, inlineMaxBytes: number = DEFAULT_INLINE_MAX_BYTES): Context.Tag.Service<ResultStore> => {
  const serializers = new Map<string, Serializer>([jsonSerializer, v8Serializer, textSerializer].map((s) => [s.encoding, s]))

  const persist = (value: unknown, serializer: Serializer = jsonSerializer) => {
    if (value === null || value === undefined) return Effect.succeed(null)
    return Effect.try({
      try: () => {
        const blob = serializer.encode(value)
        if (typeof blob !== "string") throw new Error(`its encode returned ${typeof blob}, not a string`)
        return { encoding: serializer.encoding, blob }
      },
      catch: (e) => e instanceof ResultNotSerializable ? e : new ResultNotSerializable({
        message: `the "${serializer.encoding}" serializer could not encode the value: ${errorMessage(e)}`
      })
    }).pipe(
      Effect.flatMap((doc): Effect.Effect<DataDocument, ResultStoreError> =>
        fitsInline(doc.blob, inlineMaxBytes) ? Effect.succeed(doc) : backend.write(JSON.stringify(doc)))
    )
  }

  /** `source` says where the document came from, for messages ("" for an inline document). */
  const resolve = (doc: DataDocument, source: string, depth: number): Effect.Effect<unknown, ResultStoreError> => {
    if (depth > 8) return Effect.fail(new ResultStoreError({ message: `result document${source} nests references too deeply` }))
    const inner = (text: string, from: string) => {
      const parsed = decodeDocument(text)
      return parsed._tag === "Right"
        ? resolve(parsed.right, from, depth + 1)
        : Effect.fail(new ResultStoreError({ message: `result${from} is not a valid DataDocument (corrupt or not a result)` }))
    }
    const stored = backend.read(doc)
    if (Option.isSome(stored)) return Effect.flatMap(stored.value, (text) => inner(text, ` ${doc.encoding === "file" ? "file" : `${doc.encoding} document`} ${doc.blob}`))
    if (doc.encoding === "file") return Effect.flatMap(readFile(doc.blob), (text) => inner(text, ` file ${doc.blob}`))
    if (doc.encoding === "orion") return inner(doc.blob, `${source} (orion wrapper)`)
    const serializer = serializers.get(doc.encoding)
    if (serializer === undefined) {
      return Effect.fail(new ResultStoreError({
        message: `unknown result encoding ${JSON.stringify(doc.encoding)}${source ? ` in${source}` : ""}; registered: ${[...serializers.keys()].join(", ")}`
      }))
    }
    return Effect.try({
      try: () => serializer.decode(doc.blob),
      catch: (e) => new ResultStoreError({
        message: `cannot decode the "${doc.encoding}" result${source ? ` in${source}` : ""}: ${e instanceof SyntaxError ? "malformed data" : errorMessage(e)}`
      })
    })
  }

  return ResultStore.of({
    persist,
    retrieve: (doc) => (doc === null ? Effect.void : resolve(doc, "", 0)),
    register: (serializer) =>
      reserved.has(serializer.encoding)
        ? Effect.dieMessage(`the result encoding "${serializer.encoding}" is reserved by the result store`)
        : Effect.sync(() => void serializers.set(serializer.encoding, serializer))
  })
}

/** The result store writing under `directory` (created on first persist); small results inline up to `ORION_RESULTS_INLINE_MAX_BYTES`. */
export const layerAt = (directory: string, options: { readonly inlineMaxBytes?: number } = {}): Layer.Layer<ResultStore, ConfigError.ConfigError> =>
  Layer.effect(ResultStore, Effect.map(
    options.inlineMaxBytes !== undefined ? Effect.succeed(options.inlineMaxBytes) : resultsInlineMaxBytes,
    (max) => makeStore(fileBackend(directory), max)
  ))

/** The result store under `ORION_RESULTS_DIR` (default `$ORION_HOME/storage`). */
export const layer = Layer.effect(ResultStore, Effect.flatMap(resultsDir, (dir) => Effect.map(resultsInlineMaxBytes, (max) => makeStore(fileBackend(dir), max))))
