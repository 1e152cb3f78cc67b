/**
 * The API server's settings: given by `orion start` (or a test), else read through `Config` from the environment,
 * each with its default. `ApiSettings` carries the effective values to the handlers (data directory, settings route).
 */
import { Config, Context, Effect } from "effect"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { orionHome } from "../settings.js"

/** `ORION_API_HOST` (default 127.0.0.1) and `ORION_API_PORT` (default 4200): where `orion start` listens. */
export const apiHost = Config.string("ORION_API_HOST").pipe(Config.withDefault("127.0.0.1"))
export const apiPort = Config.integer("ORION_API_PORT").pipe(Config.withDefault(4200))

/** `ORION_API_CORS_ORIGINS`: comma-separated origins allowed to call the API from a browser (default none: same origin only). */
export const corsOrigins = Config.string("ORION_API_CORS_ORIGINS").pipe(
  Config.withDefault(""),
  Config.map((s) => s.split(",").map((o) => o.trim()).filter((o) => o !== ""))
)

/** `ORION_API_MAX_BODY_BYTES`: the largest request body accepted (default 1 MiB); larger ones get 413. */
export const maxBodyBytes = Config.integer("ORION_API_MAX_BODY_BYTES").pipe(Config.withDefault(1024 * 1024))

/** `ORION_API_MAX_DATA_BYTES`: the largest result accepted by `POST /api/data/persist` (default 64 MiB). */
export const maxDataBytes = Config.integer("ORION_API_MAX_DATA_BYTES").pipe(Config.withDefault(64 * 1024 * 1024))

/** `ORION_DATA_BASE_PATH`: where `/api/data/persist` stores results (default `$ORION_HOME/data`). */
export const dataDir = Config.all([Config.option(Config.string("ORION_DATA_BASE_PATH")), orionHome]).pipe(
  Config.map(([p, home]) => path.resolve(p._tag === "Some" && p.value.trim() !== "" ? p.value.trim() : path.join(home, "data")))
)

/** `ORION_UI_DIR`: the built dashboard served at `/` (default `ui/dist` of this package). */
export const uiDir = Config.string("ORION_UI_DIR").pipe(
  Config.withDefault(fileURLToPath(new URL("../../ui/dist", import.meta.url))),
  Config.map((p) => path.resolve(p))
)

/** What a server is started with; unset fields come from the environment. */
export interface ServerOptions {
  readonly host: string
  readonly port: number
  /** The built UI to serve at `/`; none: only the API and its docs. */
  readonly uiDir?: string | undefined
  readonly cors?: { readonly allowedOrigins: ReadonlyArray<string> } | undefined
  readonly maxBodyBytes?: number | undefined
  readonly maxDataBytes?: number | undefined
  readonly dataDir?: string | undefined
  /** Log one line per request (`orion start` does). */
  readonly logRequests?: boolean | undefined
  /** Whether services run in this process, and which are running (shown by `/api/admin/settings`). */
  readonly services?: { readonly enabled: boolean; readonly running: ReadonlyArray<string> } | undefined
}

/** The effective settings of a running server. */
export interface ResolvedSettings {
  readonly host: string
  readonly port: number
  readonly uiDir: string | null
  readonly corsOrigins: ReadonlyArray<string>
  readonly maxBodyBytes: number
  readonly maxDataBytes: number
  readonly dataDir: string
  readonly logRequests: boolean
  readonly services: { readonly enabled: boolean; readonly running: ReadonlyArray<string> }
}

export class ApiSettings extends Context.Tag("orion/ApiSettings")<ApiSettings, ResolvedSettings>() {}

/** Fills what the options leave unset from `Config`. */
export const resolveSettings = (options: ServerOptions) =>
  Effect.gen(function*() {
    return {
      host: options.host,
      port: options.port,
      uiDir: options.uiDir ?? null,
      corsOrigins: options.cors?.allowedOrigins ?? (yield* corsOrigins),
      maxBodyBytes: options.maxBodyBytes ?? (yield* maxBodyBytes),
      maxDataBytes: options.maxDataBytes ?? (yield* maxDataBytes),
      dataDir: options.dataDir ?? (yield* dataDir),
      logRequests: options.logRequests ?? false,
      services: options.services ?? { enabled: false, running: [] }
    } satisfies ResolvedSettings
  })
