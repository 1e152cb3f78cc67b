/** The `orion` command line: `orion demo`, `orion database upgrade`. */
import { Command } from "@effect/cli"
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Layer } from "effect"
import * as Database from "../storage/database.js"
import { demo } from "./demo.js"

const demoCommand = Command.make("demo", {}, () => demo).pipe(
  Command.withDescription("Create the database if needed and take a small flow run through the orchestrator"))

const upgrade = Command.make("upgrade", {}, () =>
  Effect.gen(function*() {
    const db = yield* Database.Database
    yield* Console.log(`Orion database at ${db.url} is up to date.`)
  }).pipe(Effect.provide(Database.layer))).pipe(Command.withDescription("Apply pending migrations to the database (keeps its data)"))

const database = Command.make("database").pipe(Command.withSubcommands([upgrade]), Command.withDescription("Manage the metadata database"))

const orion = Command.make("orion").pipe(Command.withSubcommands([demoCommand, database]))

const cli = Command.run(orion, { name: "Orion", version: "0.1.0" })

cli(process.argv).pipe(
  Effect.catchTag("DatabaseError", (e) => Effect.zipRight(Console.error(e.message), Effect.sync(() => { process.exitCode = 1 }))),
  Effect.provide(Layer.mergeAll(NodeContext.layer)),
  NodeRuntime.runMain({ disableErrorReporting: false })
)
