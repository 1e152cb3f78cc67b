/**
 * Results in remote mode (spec §7.13): stored by the server through `POST /api/data/persist`, so states carry an
 * `orion` reference that any client of the server (and the server itself) can read back with `/api/data/retrieve`.
 */
import { type ConfigError, Effect, Either, Layer, Option, Schema } from "effect"
import { DataDocument } from "../domain/data.js"
import { makeStore, type ResultBackend, ResultStore, ResultStoreError } from "../../runtime/results.js"
import { resultsInlineMaxBytes } from "../settings.js"
import { OrionHttp } from "./remote-http.js"

const decodeDocument = Schema.decodeUnknownEither(Schema.parseJson(DataDocument))
const encoder = new TextEncoder()
const decoder = new TextDecoder("utf-8", { fatal: true })

/** Is this an `orion` document wrapping a server file reference (what `/api/data/persist` answers)? */
const isServerReference = (doc: DataDocument) => {
  if (doc.encoding !== "orion") return false
  const inner = decodeDocument(doc.blob)
  return Either.isRight(inner) && inner.right.encoding === "file"
}

const failed = (what: string) => (e: { readonly message: string }) => new ResultStoreError({ message: `cannot ${what} a result on the server: ${e.message}` })

/** The backend that stores through the server's data routes. */
export const serverBackend = (http: OrionHttp["Type"]): ResultBackend => ({
  write: (text) =>
    http.call("POST /api/data/persist", (api) => api.data.persist({ payload: encoder.encode(text) })).pipe(
      Effect.mapError(failed("store"))
    ),
  read: (doc) =>
    isServerReference(doc)
      ? Option.some(http.call("POST /api/data/retrieve", (api) => api.data.retrieve({ payload: doc })).pipe(
        Effect.mapError(failed("read")),
        Effect.flatMap((bytes) =>
          Effect.try({ try: () => decoder.decode(bytes), catch: () => new ResultStoreError({ message: "the result stored on the server is not UTF-8 text" }) }))
      ))
      : Option.none()
})

/** The result store of remote mode, on the `OrionHttp` of the remote client. */
export const layer: Layer.Layer<ResultStore, ConfigError.ConfigError, OrionHttp> = Layer.effect(ResultStore,
  Effect.flatMap(OrionHttp, (http) => Effect.map(resultsInlineMaxBytes, (max) => makeStore(serverBackend(http), max))))
