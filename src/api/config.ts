/**
 * The API server's settings: given by `orion start` (or a test), else read through `Config` from the environment,
 * each with its default. `ApiSettings` carries the effective values to the handlers (data directory, settings route).
 */
import { Config, Context, Effect, Option, Redacted } from "effect"
import * as path from "node:path"
import { packageRoot } from "../package-root.js"
import { apiKey, orionHome } from "../settings.js"

/** `ORION_API_HOST` (default 127.0.0.1) and `ORION_API_PORT` (default 4200): where `orion start` listens. */
export const apiHost = Config.string("ORION_API_HOST").pipe(Config.withDefault("127.0.0.1"))
export const apiPort = Config.integer("ORION_API_PORT").pipe(Config.withDefault(4200))

/** `ORION_API_CORS_ORIGINS`: comma-separated origins allowed to call the API from a browser (default none: same origin only). */
export const corsOrigins = Config.string("ORION_API_CORS_ORIGINS").pipe(
  Config.withDefault(""),
  Config.map((s) => s.split(",").map((o) => o.trim()).filter((o) => o !== ""))
)

/**
 * `ORION_API_ALLOWED_HOSTS`: comma-separated host names the server answers to besides loopback names and the host it
 * is bound to (`*`: any). A request whose `Host` names another server is refused (421), so that a DNS-rebinding page
 * cannot reach the API under a name of its own.
 */
export const allowedHosts = Config.string("ORION_API_ALLOWED_HOSTS").pipe(
  Config.withDefault(""),
  Config.map((s) => s.split(",").map((h) => h.trim().toLowerCase()).filter((h) => h !== ""))
)

/** `ORION_SSE_MAX_CLIENTS`: event streams open at once (default 256); one more is answered 503 with `Retry-After`. */
export const maxEventStreams = Config.integer("ORION_SSE_MAX_CLIENTS").pipe(
  Config.withDefault(256),
  Config.validate({ message: "ORION_SSE_MAX_CLIENTS must be a positive integer", validation: (n) => n >= 1 })
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
  Config.withDefault(path.join(packageRoot, "ui", "dist")),
  Config.map((p) => path.resolve(p))
)

/** What a server is started with; unset fields come from the environment. */
export interface ServerOptions {
  readonly host: string
  readonly port: number
  /** The built UI to serve at `/`; none: only the API and its docs. */
  readonly uiDir?: string | undefined
  readonly cors?: { readonly allowedOrigins: ReadonlyArray<string> } | undefined
  /** The API key every route requires (default `ORION_API_KEY`; none: no key). */
  readonly apiKey?: string | undefined
  /** Host names accepted besides loopback names and the bound host (default `ORION_API_ALLOWED_HOSTS`). */
  readonly allowedHosts?: ReadonlyArray<string> | undefined
  /** Event streams open at once (default `ORION_SSE_MAX_CLIENTS`, 256). */
  readonly maxEventStreams?: number | undefined
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
  readonly apiKey: Option.Option<Redacted.Redacted>
  readonly allowedHosts: ReadonlyArray<string>
  readonly maxEventStreams: number
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
      apiKey: options.apiKey !== undefined ? Option.some(Redacted.make(options.apiKey)) : yield* apiKey,
      allowedHosts: options.allowedHosts ?? (yield* allowedHosts),
      maxEventStreams: options.maxEventStreams ?? (yield* maxEventStreams),
      maxBodyBytes: options.maxBodyBytes ?? (yield* maxBodyBytes),
      maxDataBytes: options.maxDataBytes ?? (yield* maxDataBytes),
      dataDir: options.dataDir ?? (yield* dataDir),
      logRequests: options.logRequests ?? false,
      services: options.services ?? { enabled: false, running: [] }
    } satisfies ResolvedSettings
  })
