/** `orion start`: serve the API (and docs and UI) on the local database until SIGINT/SIGTERM (spec §5.5, §8). */
import { Command, HelpDoc, Options, ValidationError } from "@effect/cli"
import { Config, Effect } from "effect"

const host = Options.text("host").pipe(
  Options.withDescription("Interface to listen on (env ORION_API_HOST)"),
  Options.withFallbackConfig(Config.string("ORION_API_HOST")),
  Options.withDefault("127.0.0.1")
)
const port = Options.integer("port").pipe(
  Options.withAlias("p"),
  Options.withDescription("Port to listen on (env ORION_API_PORT)"),
  Options.withFallbackConfig(Config.integer("ORION_API_PORT")),
  Options.withDefault(4200),
  Options.mapEffect((port) => Number.isInteger(port) && port >= 1 && port <= 65535
    ? Effect.succeed(port)
    : Effect.fail(ValidationError.invalidValue(HelpDoc.p(`--port must be a port number from 1 to 65535, got ${port}`))))
)
const noServices = Options.boolean("no-services").pipe(Options.withDescription("Do not run Orion's services in this process"))
const noUi = Options.boolean("no-ui").pipe(Options.withDescription("Do not serve the dashboard at /"))

/** A service setting's `ConfigError` as one line that names the setting: `ORION_X: Expected a number …`. */
const describeSettingError = (text: string) => {
  const m = /^\(Invalid data at ([^:]*): "(.*)"\)$/s.exec(text)
  if (m === null) return text
  const [, at, message] = m
  return at === "" || message!.includes(at!) ? message! : `${at}: ${message}`
}

export const start = Command.make("start", { host, port, noServices, noUi }, (o) =>
  // The server, SQL drivers, handlers and services load only for this command.
  Effect.gen(function*() {
    const { launch } = yield* Effect.promise(() => import("../api/launch.js"))
    const services = o.noServices
      ? null
      : yield* Effect.flatMap(Effect.promise(() => import("../../services/index.js")), (m) => m.servicesToRun).pipe(
        Effect.catchAll((e) => Effect.as(Effect.sync(() => {
          // An invalid service setting: one clear line and exit code 1, nothing started.
          console.error(`Orion could not start: ${describeSettingError(String(e))}`)
          process.exitCode = 1
        }), undefined))
      )
    if (services === undefined) return
    return yield* launch({ host: o.host, port: o.port, services, ui: !o.noUi })
  })
).pipe(Command.withDescription("Start the Orion API server, its docs (/docs) and the dashboard (/) on the local database"))
