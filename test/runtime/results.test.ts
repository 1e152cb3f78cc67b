/** The result store: serializers' round trips and refusals, files on disk, references, errors that name what failed. */
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Layer } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import * as Results from "../../runtime/results.js"
import { jsonSerializer, layerAt, ResultStore, textSerializer, v8Serializer, type Serializer } from "../../runtime/results.js"
import { tempDir } from "../support/databases.js"

const refusal = (serializer: Serializer, value: unknown): string => {
  try {
    serializer.encode(value)
  } catch (e) {
    expect(e).toMatchObject({ _tag: "ResultNotSerializable" })
    return (e as Error).message
  }
  throw new Error(`${serializer.encoding} accepted ${String(value)}`)
}

const roundTrip = (serializer: Serializer, value: unknown) => {
  const text = serializer.encode(value)
  expect(typeof text).toBe("string")
  expect(Buffer.from(text, "utf8").toString("utf8")).toBe(text) // valid UTF-8 text
  return serializer.decode(text)
}

class Point {
  constructor(readonly x: number, readonly y: number) {}
  norm() { return Math.hypot(this.x, this.y) }
}

describe("serializers", () => {
  it("json round-trips plain data, shared references included", () => {
    const shared = { k: "v" }
    const value = { s: "é ✓ 𝄞", n: -1.5, z: 0, b: true, nil: null, list: [1, "two", [3], { four: 4 }], nested: { a: shared, b: shared }, "odd key": 1 }
    expect(roundTrip(jsonSerializer, value)).toEqual(value)
    expect(roundTrip(jsonSerializer, "just a string")).toBe("just a string")
    expect(roundTrip(jsonSerializer, 42)).toBe(42)
    expect(roundTrip(jsonSerializer, Object.assign(Object.create(null), { a: 1 }))).toEqual({ a: 1 })
  })

  it("json refuses what JSON would lose or change, naming the path and the kind", () => {
    const cyclic: Record<string, unknown> = { a: 1 }
    cyclic.self = cyclic
    const cases: ReadonlyArray<readonly [unknown, string]> = [
      [{ rows: [{}, {}, {}, { when: new Date(0) }] }, "$.rows[3].when is a Date"],
      [{ f: () => 1 }, "$.f is a function"],
      [{ s: Symbol("x") }, "$.s is a symbol"],
      [{ big: 10n }, "$.big is a bigint"],
      [[1, undefined], "$[1] is undefined"],
      [{ maybe: undefined }, "$.maybe is undefined"],
      [{ x: NaN }, "$.x is NaN"],
      [{ x: [Infinity] }, "$.x[0] is Infinity"],
      [{ x: -Infinity }, "$.x is -Infinity"],
      [{ m: new Map([[1, 2]]) }, "$.m is a Map"],
      [{ s: new Set([1]) }, "$.s is a Set"],
      [{ p: new Point(1, 2) }, "$.p is an instance of class Point"],
      [{ bytes: new Uint8Array([1]) }, "$.bytes is a Uint8Array"],
      [{ buf: Buffer.from("x") }, "$.buf is a Buffer"],
      [{ "a b": { c: cyclic } }, `$["a b"].c.self is a circular reference`],
      [[1, , 3], "$[1] is an empty slot of a sparse array"],
      [{ [Symbol("k")]: 1 }, "$ is an object with symbol keys"],
      [{ e: new TypeError("x") }, "$.e is an error (TypeError)"],
      [10n, "$ is a bigint"]
    ]
    for (const [value, expected] of cases) expect(refusal(jsonSerializer, value)).toContain(expected)
  })

  it("json's refusal suggests v8 when v8 would keep the value, and plain data when it would not", () => {
    expect(refusal(jsonSerializer, { when: new Date(0) })).toMatch(/use the "v8" serializer/)
    expect(refusal(jsonSerializer, { f: () => 1 })).toMatch(/return plain data/)
  })

  it("v8 round-trips Dates, Maps, Sets, bigints, typed arrays, undefined, NaN and cycles", () => {
    const cyclic: Record<string, unknown> = { name: "loop" }
    cyclic.self = cyclic
    const value = {
      when: new Date("2021-11-19T10:00:00Z"), map: new Map<unknown, unknown>([["a", 1n], [2, new Set([new Date(0)])]]),
      bytes: new Uint8Array([1, 2, 255]), floats: new Float64Array([0.5, NaN]), buf: Buffer.from("hi"),
      nothing: undefined, nan: NaN, inf: -Infinity, re: /a+b/g, error: new RangeError("bad"), cyclic
    }
    const back = roundTrip(v8Serializer, value) as typeof value
    expect(back.when).toEqual(value.when)
    expect(back.map).toEqual(value.map)
    expect(back.bytes).toEqual(value.bytes)
    expect(Array.from(back.floats)).toEqual([0.5, NaN])
    expect(Buffer.isBuffer(back.buf) && back.buf.toString()).toBe("hi")
    expect("nothing" in back && back.nothing === undefined).toBe(true)
    expect([back.nan, back.inf, String(back.re)]).toEqual([NaN, -Infinity, "/a+b/g"])
    expect(back.error).toBeInstanceOf(RangeError)
    expect(back.error.message).toBe("bad")
    expect(back.cyclic.self).toBe(back.cyclic)
    expect(roundTrip(v8Serializer, 12345678901234567890n)).toBe(12345678901234567890n)
  })

  it("v8 refuses functions, symbols and class instances, naming the path", () => {
    expect(refusal(v8Serializer, { a: [{ f: () => 1 }] })).toContain("$.a[0].f is a function")
    expect(refusal(v8Serializer, { s: Symbol("x") })).toContain("$.s is a symbol")
    expect(refusal(v8Serializer, { p: new Point(1, 2) })).toContain("$.p is an instance of class Point")
    expect(refusal(v8Serializer, new Map([["k", new Point(0, 0)]]))).toContain(`$.get("k") is an instance of class Point`)
    expect(refusal(v8Serializer, { pending: Promise.resolve(1) })).toContain("$.pending is a Promise")
  })

  it("text takes strings only", () => {
    expect(roundTrip(textSerializer, "plain ✓\nlines")).toBe("plain ✓\nlines")
    expect(roundTrip(textSerializer, "")).toBe("")
    expect(refusal(textSerializer, 3)).toContain(`$ is a number`)
    expect(refusal(textSerializer, { a: 1 })).toContain(`$ is an object: the "text" serializer`)
  })
})

describe("ResultStore", () => {
  // These exercise the file backend: every result goes to it (none is kept inline).
  const store = (directory = path.join(tempDir(), "results")) => ({ directory, layer: layerAt(directory, { inlineMaxBytes: 0 }) })

  it.effect("persist writes a file holding the inner document; retrieve reads it back", () => {
    const { directory, layer } = store()
    return Effect.gen(function*() {
      const results = yield* ResultStore
      expect(fs.existsSync(directory)).toBe(false) // created lazily
      const doc = yield* results.persist({ rows: [1, 2, 3] })
      expect(doc?.encoding).toBe("file")
      expect(path.isAbsolute(doc!.blob) && path.dirname(doc!.blob)).toBe(directory)
      expect(doc!.blob).toMatch(/\.json$/)
      expect(JSON.parse(fs.readFileSync(doc!.blob, "utf8"))).toEqual({ encoding: "json", blob: `{"rows":[1,2,3]}` })
      expect(yield* results.retrieve(doc)).toEqual({ rows: [1, 2, 3] })
      expect(fs.readdirSync(directory).filter((f) => f.endsWith(".tmp"))).toEqual([])

      const when = new Date("2022-01-01T00:00:00Z")
      const v8Doc = yield* results.persist(new Map([["when", when]]), v8Serializer)
      expect(JSON.parse(fs.readFileSync(v8Doc!.blob, "utf8")).encoding).toBe("v8")
      expect(yield* results.retrieve(v8Doc)).toEqual(new Map([["when", when]]))
      expect(yield* results.retrieve(yield* results.persist("hello", textSerializer))).toBe("hello")
    }).pipe(Effect.provide(layer))
  })

  it.effect("null and undefined persist as null; null retrieves as undefined; inline documents decode directly", () =>
    Effect.gen(function*() {
      const results = yield* ResultStore
      expect(yield* results.persist(null)).toBeNull()
      expect(yield* results.persist(undefined)).toBeNull()
      expect(yield* results.retrieve(null)).toBeUndefined()
      expect(yield* results.retrieve({ encoding: "json", blob: "[1,2,3]" })).toEqual([1, 2, 3])
      expect(yield* results.retrieve({ encoding: "text", blob: "hi" })).toBe("hi")
      expect(yield* results.retrieve({ encoding: "orion", blob: JSON.stringify({ encoding: "json", blob: "7" }) })).toBe(7)
    }).pipe(Effect.provide(store().layer)))

  it.effect("unserializable values fail with ResultNotSerializable and write nothing", () => {
    const { directory, layer } = store()
    return Effect.gen(function*() {
      const results = yield* ResultStore
      const error = yield* Effect.flip(results.persist({ rows: [{ when: new Date() }] }))
      expect(error).toMatchObject({ _tag: "ResultNotSerializable" })
      expect(error.message).toContain("$.rows[0].when is a Date")
      const custom = yield* Effect.flip(results.persist(1, { encoding: "boom", encode: () => { throw new Error("nope") }, decode: String }))
      expect(custom.message).toBe(`the "boom" serializer could not encode the value: nope`)
      expect(fs.existsSync(directory) ? fs.readdirSync(directory) : []).toEqual([])
    }).pipe(Effect.provide(layer))
  })

  it.effect("unknown encodings, missing files and corrupt documents are ResultStoreErrors naming them", () => {
    const { directory, layer } = store()
    return Effect.gen(function*() {
      const results = yield* ResultStore
      const unknown = yield* Effect.flip(results.retrieve({ encoding: "pickle", blob: "x" }))
      expect(unknown).toMatchObject({ _tag: "ResultStoreError" })
      expect(unknown.message).toContain(`unknown result encoding "pickle"`)
      expect(unknown.message).toContain("registered: json, v8, text")

      const missing = path.join(directory, "gone.json")
      expect((yield* Effect.flip(results.retrieve({ encoding: "file", blob: missing }))).message).toBe(`result file ${missing} does not exist`)

      fs.mkdirSync(directory, { recursive: true })
      const corrupt = path.join(directory, "corrupt.json")
      fs.writeFileSync(corrupt, "secret: not json")
      const corruptError = yield* Effect.flip(results.retrieve({ encoding: "file", blob: corrupt }))
      expect(corruptError.message).toBe(`result file ${corrupt} is not a valid DataDocument (corrupt or not a result)`)
      expect(corruptError.message).not.toContain("secret")

      const foreign = path.join(directory, "foreign.json")
      fs.writeFileSync(foreign, JSON.stringify({ encoding: "msgpack", blob: "AA==" }))
      expect((yield* Effect.flip(results.retrieve({ encoding: "file", blob: foreign }))).message)
        .toContain(`unknown result encoding "msgpack" in file ${foreign}`)

      const badJson = path.join(directory, "bad-json.json")
      fs.writeFileSync(badJson, JSON.stringify({ encoding: "json", blob: "{oops" }))
      expect((yield* Effect.flip(results.retrieve({ encoding: "file", blob: badJson }))).message)
        .toBe(`cannot decode the "json" result in file ${badJson}: malformed data`)
    }).pipe(Effect.provide(layer))
  })

  it.effect("writing fails with a ResultStoreError naming the directory when it cannot be created", () => {
    const base = tempDir()
    const blocker = path.join(base, "a-file")
    fs.writeFileSync(blocker, "")
    const directory = path.join(blocker, "results")
    return Effect.gen(function*() {
      const error = yield* Effect.flip((yield* ResultStore).persist(1))
      expect(error).toMatchObject({ _tag: "ResultStoreError" })
      expect(error.message).toContain(`cannot write a result under ${directory}`)
    }).pipe(Effect.provide(layerAt(directory, { inlineMaxBytes: 0 })))
  })

  it.effect("the directory is made again if it disappears", () => {
    const { directory, layer } = store()
    return Effect.gen(function*() {
      const results = yield* ResultStore
      yield* results.persist(1)
      fs.rmSync(directory, { recursive: true })
      const doc = yield* results.persist(2)
      expect(yield* results.retrieve(doc)).toBe(2)
    }).pipe(Effect.provide(layer))
  })

  it.effect("a registered custom serializer round-trips; built-in references cannot be overridden", () =>
    Effect.gen(function*() {
      const results = yield* ResultStore
      const upper: Serializer = {
        encoding: "csv-row",
        encode: (v) => (v as ReadonlyArray<string>).join(","),
        decode: (text) => text.split(",")
      }
      const doc = yield* results.persist(["a", "b", "c"], upper)
      expect((yield* Effect.flip(results.retrieve(doc))).message).toContain(`unknown result encoding "csv-row"`)
      yield* results.register(upper)
      expect(yield* results.retrieve(doc)).toEqual(["a", "b", "c"])
      const exit = yield* Effect.exit(results.register({ ...upper, encoding: "file" }))
      expect(exit._tag).toBe("Failure")
    }).pipe(Effect.provide(store().layer)))

  it.live("1,000 concurrent persists are all retrievable, each in its own file", () => {
    const { directory, layer } = store()
    return Effect.gen(function*() {
      const results = yield* ResultStore
      const values = Array.from({ length: 1000 }, (_, i) => ({ i, label: `value-${i}`, list: [i, i * 2] }))
      const docs = yield* Effect.forEach(values, (v) => results.persist(v), { concurrency: "unbounded" })
      expect(new Set(docs.map((d) => d!.blob)).size).toBe(1000)
      expect(fs.readdirSync(directory).length).toBe(1000)
      const back = yield* Effect.forEach(docs, (d) => results.retrieve(d), { concurrency: 64 })
      expect(back).toEqual(values)
    }).pipe(Effect.provide(layer))
  })

  it.effect("a result up to ORION_RESULTS_INLINE_MAX_BYTES (4 KiB by default) is kept in its document, no file; a larger one is a file", () => {
    const directory = path.join(tempDir(), "results")
    const withEnv = (env: Record<string, string>) =>
      Layer.provide(layerAt(directory), Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)))))
    return Effect.gen(function*() {
      const results = yield* ResultStore
      expect(yield* results.persist(42)).toEqual({ encoding: "json", blob: "42" })
      const atLimit = "x".repeat(4096 - 2)
      expect(yield* results.persist(atLimit)).toEqual({ encoding: "json", blob: JSON.stringify(atLimit) })
      expect(yield* results.persist("é".repeat(2000), textSerializer)).toEqual({ encoding: "text", blob: "é".repeat(2000) }) // 4,000 bytes
      expect(fs.existsSync(directory)).toBe(false)
      const multiByte = yield* results.persist("é".repeat(2049), textSerializer) // 4,098 bytes in 2,049 characters
      expect(multiByte?.encoding).toBe("file")
      const large = yield* results.persist("x".repeat(4096))
      expect(large?.encoding).toBe("file")
      expect(yield* results.retrieve(large)).toBe("x".repeat(4096))
      expect(yield* results.retrieve(yield* results.persist({ a: [1, 2] }))).toEqual({ a: [1, 2] })
      const small = yield* Effect.provide(Effect.flatMap(ResultStore, (r) => r.persist(7)), withEnv({ ORION_RESULTS_INLINE_MAX_BYTES: "0" }))
      expect(small?.encoding).toBe("file")
      const refused = yield* Effect.flip(Effect.provide(ResultStore, withEnv({ ORION_RESULTS_INLINE_MAX_BYTES: "lots" })))
      expect(String(refused)).toContain("ORION_RESULTS_INLINE_MAX_BYTES")
    }).pipe(Effect.provide(layerAt(directory)))
  })

  it.effect("the configured layer writes under ORION_RESULTS_DIR, else under $ORION_HOME/storage", () => {
    const base = tempDir()
    const withEnv = (env: Record<string, string>) =>
      Layer.provide(Results.layer, Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries({ ORION_RESULTS_INLINE_MAX_BYTES: "0", ...env })))))
    const directoryOf = Effect.flatMap(ResultStore, (r) => r.persist("x", textSerializer)).pipe(Effect.map((doc) => path.dirname(doc!.blob)))
    return Effect.gen(function*() {
      expect(yield* Effect.provide(directoryOf, withEnv({ ORION_RESULTS_DIR: path.join(base, "configured") }))).toBe(path.join(base, "configured"))
      expect(yield* Effect.provide(directoryOf, withEnv({ ORION_HOME: path.join(base, "home") }))).toBe(path.join(base, "home", "storage"))
    })
  })
})
