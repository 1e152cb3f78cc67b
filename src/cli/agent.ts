/**
 * `orion agent start [--work-queue q]… [--limit n]`: the agent as a process of its own, on the server at
 * `ORION_API_URL` or the local database; it runs until SIGINT/SIGTERM, restarting itself after a failure.
 */
import { HelpDoc, Options, ValidationError } from "@effect/cli"
import * as Command from "@effect/cli/Command"
import { ConfigError, Console, Duration, Effect, Option, Schedule, Schema } from "effect"
import { agent } from "../../services/agent.js"
import type { ServiceReporter } from "../../services/service.js"
import { WorkQueueName } from "../domain/deployment.js"
import { CliFailure } from "./output.js"

const describe = (e: unknown) => e instanceof Error || (typeof e === "object" && e !== null && "message" in e) ? String((e as { message: unknown }).message) : String(e)

const isQueueName = Schema.is(WorkQueueName)

const workQueue = Options.text("work-queue").pipe(
  Options.withAlias("q"),
  Options.withDescription("A work queue to serve (repeatable; default ORION_AGENT_WORK_QUEUES, else 'default')"),
  Options.repeated,
  Options.mapEffect((qs) => Effect.forEach(qs, (q) => isQueueName(q.trim())
    ? Effect.succeed(q.trim())
    : Effect.fail(ValidationError.invalidValue(HelpDoc.p(`--work-queue '${q}' is not a work queue name: letters, digits, '.', '_', '-' or '/'`)))))
)
const limit = Options.integer("limit").pipe(
  Options.withDescription("Flow runs executed at once at most (default ORION_AGENT_LIMIT, else 10)"),
  Options.optional,
  Options.mapEffect((n) => Option.isNone(n) || (n.value >= 1 && n.value <= 1000)
    ? Effect.succeed(n)
    : Effect.fail(ValidationError.invalidValue(HelpDoc.p(`--limit must be between 1 and 1000, got ${n.value}`))))
)

/** A standalone agent reports on its own output: handled failures on stderr, nothing else. */
const reporter: ServiceReporter = {
  loopDone: () => Effect.void,
  nextDue: () => Effect.void,
  error: (message) => Console.error(`agent: ${message}`)
}

const startCommand = Command.make("start", { workQueue, limit }, (o) => {
  const service = agent({
    ...(o.workQueue.length > 0 ? { workQueues: [...new Set(o.workQueue)] } : {}),
    ...(Option.isSome(o.limit) ? { limit: o.limit.value } : {})
  })
  return service.run(reporter).pipe(
    // An invalid setting stops it at once (one line); anything else restarts it after a pause.
    Effect.tapError((e) => ConfigError.isConfigError(e) ? Effect.void : Console.error(`agent: stopped by a failure, starting again: ${describe(e)}`)),
    Effect.retry({
      schedule: Schedule.exponential(Duration.seconds(1)).pipe(Schedule.union(Schedule.spaced(Duration.seconds(30)))),
      while: (e) => !ConfigError.isConfigError(e)
    }),
    Effect.mapError((e) => ConfigError.isConfigError(e) ? e : new CliFailure({ message: `agent: ${describe(e)}` }))
  )
}).pipe(Command.withDescription("Run deployments' flow runs as they fall due (on ORION_API_URL, or the local database) until stopped"))

export const agentCommand = Command.make("agent").pipe(
  Command.withSubcommands([startCommand]),
  Command.withDescription("The agent: runs the flow runs of deployments in its work queues"))

/** Every command word of the group, for usage lines (cli/output.ts). */
export const agentWords = ["agent", "start"] as const
