/**
 * `orion config view`: every Orion setting with its effective value and where it came from (the environment or the
 * default); secrets (the API key, a database password) are masked. An invalid value is shown with what is wrong.
 */
import { Options } from "@effect/cli"
import * as Command from "@effect/cli/Command"
import { Config, Console, Effect, type LogLevel, Option, Redacted } from "effect"
import * as ApiConfig from "../api/config.js"
import * as Settings from "../settings.js"
import { reportRuns } from "../sdk/report.js"
import * as LogFormat from "../log-format.js"
import * as Tracing from "../tracing.js"
import * as AgentConfig from "../../services/agent-config.js"
import { parseDatabaseUrl } from "../storage/database.js"
import { printJson, table } from "./output.js"

interface Setting {
  readonly name: string
  readonly config: Config.Config<unknown>
  /** How to show the value (masking a secret). */
  readonly show?: (value: unknown) => string
}

const list = (v: unknown) => (v as ReadonlyArray<string>).join(",")
const settings: ReadonlyArray<Setting> = [
  { name: "ORION_HOME", config: Settings.orionHome },
  { name: "ORION_DATABASE_URL", config: Settings.databaseUrl, show: (v) => parseDatabaseUrl(String(v)).masked },
  { name: "ORION_API_URL", config: Settings.apiUrl, show: (v) => v === undefined ? "(unset: local database)" : String(v) },
  { name: "ORION_API_KEY", config: Settings.apiKey, show: (v) => Option.isSome(v as Option.Option<Redacted.Redacted>) ? "********" : "(unset)" },
  { name: "ORION_API_RETRY_SECONDS", config: Settings.apiRetrySeconds },
  { name: "ORION_RESULTS_DIR", config: Settings.resultsDir },
  { name: "ORION_RESULTS_INLINE_MAX_BYTES", config: Settings.resultsInlineMaxBytes },
  { name: "ORION_LOGGING_BATCH_INTERVAL", config: Settings.loggingBatchInterval },
  { name: "ORION_LOGGING_BATCH_SIZE", config: Settings.loggingBatchSize },
  { name: "ORION_HEARTBEAT_INTERVAL", config: Settings.heartbeatInterval },
  { name: "ORION_REPORT_RUNS", config: reportRuns },
  { name: "ORION_LOG_FORMAT", config: LogFormat.logFormat },
  { name: "ORION_LOG_LEVEL", config: LogFormat.logLevel, show: (v) => LogFormat.levelName(v as LogLevel.LogLevel) },
  {
    name: "ORION_OTLP_ENDPOINT", config: Tracing.otlpEndpoint,
    show: (v) => Option.match(v as Option.Option<{ readonly url: string | undefined }>, { onNone: () => "(unset: tracing off)", onSome: (e) => e.url ?? "(from OTEL_EXPORTER_OTLP_*)" })
  },
  { name: "ORION_TUNE_HEAP", config: Settings.tuneHeapSetting, show: (v) => Option.match(v as Option.Option<boolean>, { onNone: () => "(unset: only in processes Orion starts)", onSome: String }) },
  { name: "ORION_HEAP_GROWING_PERCENT", config: Settings.heapGrowingPercent },
  { name: "ORION_AGENT_WORK_QUEUES", config: AgentConfig.agentWorkQueues, show: list },
  { name: "ORION_AGENT_LIMIT", config: AgentConfig.agentLimit },
  { name: "ORION_AGENT_POLL_INTERVAL", config: AgentConfig.agentPollInterval },
  { name: "ORION_AGENT_WARM_EXECUTORS", config: AgentConfig.agentWarmExecutors },
  { name: "ORION_AGENT_EXECUTOR_MAX_RUNS", config: AgentConfig.agentExecutorMaxRuns },
  { name: "ORION_AGENT_EXECUTOR_MAX_RSS_MB", config: AgentConfig.agentExecutorMaxRssMb },
  { name: "ORION_AGENT_EXECUTOR_IDLE_SECONDS", config: AgentConfig.agentExecutorIdleSeconds },
  { name: "ORION_AGENT_RETRY_GRACE", config: AgentConfig.agentRetryGrace },
  { name: "ORION_API_HOST", config: ApiConfig.apiHost },
  { name: "ORION_API_PORT", config: ApiConfig.apiPort },
  { name: "ORION_API_CORS_ORIGINS", config: ApiConfig.corsOrigins, show: list },
  { name: "ORION_API_ALLOWED_HOSTS", config: ApiConfig.allowedHosts, show: list },
  { name: "ORION_SSE_MAX_CLIENTS", config: ApiConfig.maxEventStreams },
  { name: "ORION_API_MAX_BODY_BYTES", config: ApiConfig.maxBodyBytes },
  { name: "ORION_API_MAX_DATA_BYTES", config: ApiConfig.maxDataBytes },
  { name: "ORION_DATA_BASE_PATH", config: ApiConfig.dataDir },
  { name: "ORION_UI_DIR", config: ApiConfig.uiDir }
]

const json = Options.boolean("json").pipe(Options.withDescription("Print JSON (for scripts) instead of a table"))

const view = Command.make("view", { json }, (o) =>
  Effect.gen(function*() {
    const rows = yield* Effect.forEach(settings, (s) =>
      Effect.map(Effect.either(s.config), (result) => {
        const source = (process.env[s.name] ?? "").trim() !== "" ? "environment" : "default"
        return result._tag === "Right"
          ? { name: s.name, value: (s.show ?? String)(result.right), source }
          : { name: s.name, value: `invalid: ${String(result.left).replace(/\s+/g, " ")}`, source }
      }))
    if (o.json) return yield* printJson(Object.fromEntries(rows.map((r) => [r.name, { value: r.value, source: r.source }])))
    yield* Console.log(table(["SETTING", "VALUE", "FROM"], rows.map((r) => [r.name, r.value, r.source])))
  })).pipe(Command.withDescription("Show every setting's effective value and where it came from (secrets masked)"))

export const config = Command.make("config").pipe(Command.withSubcommands([view]), Command.withDescription("Orion's settings"))
