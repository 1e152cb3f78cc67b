/**
 * Handlers of `/api/data` (spec §4.4 "Data"): `persist` writes the request body to `<data dir>/<uuid hex>` and answers
 * an `orion` document wrapping a `file` document; `retrieve` reads it back, refusing any path but such a file's.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Effect, Either, Schema } from "effect"
import * as path from "node:path"
import { DataDocument } from "../../domain/data.js"
import { makeDirectory } from "../../storage/directories.js"
import { InvalidRequest, ObjectNotFound } from "../../domain/errors.js"
import { OrionApi } from "../api.js"
import { ApiSettings } from "../config.js"
import { BadRequest, PayloadTooLarge, ServiceUnavailable } from "../errors.js"
import { isBodyTooLarge } from "../middleware.js"

const decodeDocument = Schema.decodeUnknownEither(Schema.parseJson(DataDocument))

/** The name `persist` gives a file: a UUID's 32 hex digits. Anything else was not made here (and may not be a valid path). */
const storedName = /^[0-9a-f]{32}$/

export const DataLive = HttpApiBuilder.group(OrionApi, "data", (handlers) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const settings = yield* ApiSettings
    const root = path.resolve(settings.dataDir)
    const storageFailed = (what: string) => (e: { readonly message: string }) =>
      Effect.zipRight(Effect.logWarning(`data ${what} failed`, e), Effect.fail(new ServiceUnavailable({ detail: `Could not ${what} the data: ${e.message}` })))

    return handlers
      .handleRaw("persist", ({ request }) =>
        Effect.gen(function*() {
          const body = yield* Effect.mapError(request.arrayBuffer, (e) =>
            isBodyTooLarge(e)
              ? new PayloadTooLarge({ detail: `Request body larger than ${settings.maxDataBytes} bytes`, max_bytes: settings.maxDataBytes })
              : new BadRequest({ detail: "The request body could not be read" }))
          const file = path.join(root, crypto.randomUUID().replaceAll("-", ""))
          yield* Effect.tryPromise({ try: () => makeDirectory(root), catch: (e) => ({ message: e instanceof Error ? e.message : String(e) }) }).pipe(
            Effect.zipRight(fs.writeFile(file, body instanceof Uint8Array ? body : new Uint8Array(body))),
            Effect.catchAll(storageFailed("store"))
          )
          const document: DataDocument = { encoding: "orion", blob: JSON.stringify({ encoding: "file", blob: file }) }
          return HttpServerResponse.unsafeJson(document, { status: 201 })
        }))
      .handle("retrieve", ({ payload }) =>
        Effect.gen(function*() {
          if (payload.encoding !== "orion") {
            return yield* new InvalidRequest({ detail: `Only "orion" documents can be retrieved; this one is encoded as ${JSON.stringify(payload.encoding)}` })
          }
          const inner = decodeDocument(payload.blob)
          if (Either.isLeft(inner) || inner.right.encoding !== "file") {
            return yield* new InvalidRequest({ detail: "The document's blob is not a \"file\" document made by /api/data/persist" })
          }
          const file = path.resolve(inner.right.blob)
          if (path.dirname(file) !== root) {
            return yield* new InvalidRequest({ detail: "The document names a file outside the server's data directory" })
          }
          if (!storedName.test(path.basename(file))) {
            return yield* new InvalidRequest({ detail: "The document names a file that /api/data/persist did not make" })
          }
          const exists = yield* Effect.catchAll(fs.exists(file), storageFailed("read"))
          if (!exists) return yield* new ObjectNotFound({ thing: "Data", id: path.basename(file) })
          return yield* Effect.catchAll(fs.readFile(file), storageFailed("read"))
        }))
  }))
