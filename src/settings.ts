/** Orion's settings, read through Effect `Config` from the environment, each with its default (README "Settings"). */
import { Config, Option, Redacted } from "effect"
import * as os from "node:os"
import * as path from "node:path"

/** `ORION_HOME`: where the default database and results live (default `~/.orion`). */
export const orionHome = Config.string("ORION_HOME").pipe(
  Config.withDefault(path.join(os.homedir(), ".orion")),
  Config.map((p) => path.resolve(p.startsWith("~") ? path.join(os.homedir(), p.slice(1)) : p))
)

/** `ORION_DATABASE_URL`: `postgres://…` for PostgreSQL, else a SQLite file (default `$ORION_HOME/orion.db`). */
export const databaseUrl = Config.all([Config.option(Config.string("ORION_DATABASE_URL")), orionHome]).pipe(
  Config.map(([url, home]) => url._tag === "Some" && url.value.trim() !== "" ? url.value.trim() : path.join(home, "orion.db"))
)

/** `ORION_RESULTS_DIR`: where run results are written, one file per result (default `$ORION_HOME/storage`). */
export const resultsDir = Config.all([Config.option(Config.string("ORION_RESULTS_DIR")), orionHome]).pipe(
  Config.map(([dir, home]) => {
    const d = dir._tag === "Some" ? dir.value.trim() : ""
    return d === "" ? path.join(home, "storage") : path.resolve(d.startsWith("~") ? path.join(os.homedir(), d.slice(1)) : d)
  })
)

/**
 * `ORION_RESULTS_INLINE_MAX_BYTES`: a run's result whose serialized text is at most this long is kept in its state
 * (same row, same transaction, no file); larger ones go to the result store (default 4096; 0: every result to the store).
 */
export const resultsInlineMaxBytes = Config.integer("ORION_RESULTS_INLINE_MAX_BYTES").pipe(
  Config.withDefault(4096),
  Config.validate({ message: "ORION_RESULTS_INLINE_MAX_BYTES must be an integer from 0 to 65536", validation: (n) => n >= 0 && n <= 65536 })
)

/** `ORION_LOGGING_BATCH_INTERVAL`: seconds between uploads of run logs (default 2). */
export const loggingBatchInterval = Config.number("ORION_LOGGING_BATCH_INTERVAL").pipe(
  Config.withDefault(2),
  Config.validate({ message: "ORION_LOGGING_BATCH_INTERVAL must be a positive number of seconds", validation: (s) => s > 0 && Number.isFinite(s) })
)

/** `ORION_LOGGING_BATCH_SIZE`: run log lines that trigger an upload before the interval is up (default 500). */
export const loggingBatchSize = Config.integer("ORION_LOGGING_BATCH_SIZE").pipe(
  Config.withDefault(500),
  Config.validate({ message: "ORION_LOGGING_BATCH_SIZE must be a positive integer", validation: (n) => n >= 1 })
)

/** `ORION_HEARTBEAT_INTERVAL`: seconds between the heartbeats of a running flow run or task run (default 30). */
export const heartbeatInterval = Config.number("ORION_HEARTBEAT_INTERVAL").pipe(
  Config.withDefault(30),
  Config.validate({ message: "ORION_HEARTBEAT_INTERVAL must be a positive number of seconds", validation: (s) => s > 0 && Number.isFinite(s) })
)

/** `ORION_API_URL`: the API of an Orion server, e.g. `http://127.0.0.1:4200/api`; set, flows run in remote mode. */
export const apiUrl = Config.option(Config.string("ORION_API_URL")).pipe(
  Config.map((url) => (url._tag === "Some" && url.value.trim() !== "" ? url.value.trim() : undefined)),
  Config.validate({
    message: "ORION_API_URL must be an http:// or https:// URL, e.g. http://127.0.0.1:4200/api",
    validation: (url) => url === undefined || /^https?:\/\/[^/]+/i.test(url)
  })
)

/** `ORION_API_RETRY_SECONDS`: how long a remote client keeps retrying an unreachable or failing server (default 30). */
export const apiRetrySeconds = Config.number("ORION_API_RETRY_SECONDS").pipe(
  Config.withDefault(30),
  Config.validate({ message: "ORION_API_RETRY_SECONDS must be a number of seconds ≥ 0", validation: (s) => s >= 0 && Number.isFinite(s) })
)

/**
 * `ORION_TUNE_HEAP`: whether Orion sets V8's heap flags (runtime/internal/heap.ts). Unset: in the processes Orion starts itself
 * (`orion start`, benchmarks) but not in a user's script; `true`: in a user's script too; `false`: nowhere.
 */
export const tuneHeapSetting = Config.option(Config.boolean("ORION_TUNE_HEAP"))

/**
 * `ORION_HEAP_GROWING_PERCENT`: how far V8's heap may grow past what survived its last full collection before the next
 * one, in processes Orion runs (default 50, i.e. 1.5×; 0 keeps V8's own policy, which lets it reach ~4×).
 */
export const heapGrowingPercent = Config.integer("ORION_HEAP_GROWING_PERCENT").pipe(
  Config.withDefault(50),
  Config.validate({ message: "ORION_HEAP_GROWING_PERCENT must be an integer ≥ 0 (0: V8's own policy)", validation: (n) => n >= 0 })
)

/**
 * `ORION_API_KEY`: with it set, an Orion server requires `Authorization: Bearer <key>` on every route, and Orion's
 * clients (the SDK in remote mode, the CLI, the typed client) send it. Unset or blank: no key.
 */
export const apiKey = Config.option(Config.redacted("ORION_API_KEY")).pipe(
  Config.map((key) => Option.filter(key, (k) => Redacted.value(k).trim() !== "")),
  Config.map(Option.map((k) => Redacted.make(Redacted.value(k).trim())))
)
