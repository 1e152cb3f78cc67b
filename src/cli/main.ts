/**
 * The `orion` command line: `orion start`, `orion demo`, `orion database upgrade | reset`, and the daily-work commands
 * `orion flow-run …`, `orion task-run inspect`, `orion flow ls`, `orion config view`.
 */
import "../domain/wire-parsers.js"
import { Command, Options, ValidationError } from "@effect/cli"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { ConfigError, Console, Effect, Layer } from "effect"
import { orionVersion } from "../api/version.js"
import { withConsoleLogs } from "../log-console.js"
import { databaseUrl } from "../settings.js"
import * as Database from "../storage/database.js"
import { config } from "./config.js"
import { demo } from "./demo.js"
import { deployment, deploymentWords } from "./deployment.js"
import { agentCommand, agentWords } from "./agent.js"
import { adjustedConsole, adjustHelp, commandPathOf, useColour } from "./output.js"
import { commandWords, flow, flowRun, taskRun } from "./runs.js"
import { concurrencyLimit, concurrencyLimitWords } from "./concurrency-limits.js"
import { start } from "./start.js"

const demoCommand = Command.make("demo", {}, () => demo).pipe(
  Command.withDescription("Create the database if needed and take a small flow run through the orchestrator"))

const upgrade = Command.make("upgrade", {}, () =>
  Effect.gen(function*() {
    const db = yield* Database.Database
    yield* Console.log(`Orion database at ${db.url} is up to date.`)
  }).pipe(Effect.provide(Database.layer))).pipe(Command.withDescription("Apply pending migrations to the database (keeps its data)"))

const yes = Options.boolean("yes").pipe(Options.withAlias("y"), Options.withDescription("Confirm that every flow, run, state and log may be deleted"))
const reset = Command.make("reset", { yes }, ({ yes }) =>
  Effect.gen(function*() {
    const url = yield* databaseUrl
    const masked = Database.parseDatabaseUrl(url).masked
    if (!yes) {
      yield* Console.error(`This deletes all data in the Orion database at ${masked}. Run again with --yes to confirm.`)
      return yield* Effect.sync(() => { process.exitCode = 1 })
    }
    yield* Database.resetAt(url)
    yield* Console.log(`Orion database at ${masked} was reset: all tables dropped and created again.`)
  })).pipe(Command.withDescription("Delete all data: drop Orion's tables and apply the migrations again"))

const database = Command.make("database").pipe(Command.withSubcommands([upgrade, reset]), Command.withDescription("Manage the metadata database"))

const orion = Command.make("orion").pipe(Command.withSubcommands([start, demoCommand, database, flowRun, taskRun, flow, deployment, agentCommand, concurrencyLimit, config]))

const cli = Command.run(orion, { name: "Orion", version: orionVersion })

// What @effect/cli prints (help, refusals) reads `orion <command>` in its usage lines, and has no colour codes unless
// the stream is a terminal and NO_COLOR is unset.
const args = process.argv.slice(2)
const words = new Set<string>(["start", "demo", "database", "upgrade", "reset", "config", "view", ...commandWords, ...deploymentWords, ...agentWords, ...concurrencyLimitWords])
const path = commandPathOf(args, words)
const console = adjustedConsole((text, stream) => adjustHelp(text, path, useColour(stream === "out" ? process.stdout : process.stderr)))

const refuse = (message: string) => Effect.zipRight(Console.error(message), Effect.sync(() => { process.exitCode = 1 }))

cli(process.argv).pipe(
  // Every line logged, in ORION_LOG_FORMAT at ORION_LOG_LEVEL on stderr (`orion start` batches its own).
  withConsoleLogs,
  // @effect/cli has already printed what was wrong with the command line: exit 1 without a second, raw dump.
  Effect.catchIf(ValidationError.isValidationError, () => Effect.sync(() => { process.exitCode = 1 })),
  Effect.catchIf(ConfigError.isConfigError, (e) => refuse(`Invalid setting: ${String(e)}`)),
  Effect.catchTags({
    DatabaseError: (e) => refuse(e.message),
    CliFailure: (e) => refuse(e.message)
  }),
  Effect.withConsole(console),
  Effect.provide(Layer.mergeAll(NodeContext.layer)),
  NodeRuntime.runMain({ disableErrorReporting: false })
)
