/**
 * `orion flow-run execute <id>`: runs a deployment's flow run in this process — the flow loaded from where the
 * deployment says (TypeScript too), as that run. What an agent's executor does; also for running one by hand.
 */
import { Args, HelpDoc } from "@effect/cli"
import * as Command from "@effect/cli/Command"
import { Console, Effect } from "effect"
import { executeFlowRun, exitCodeOf } from "../../services/execute.js"
import { CliFailure } from "./output.js"

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

const id = Args.text({ name: "id" }).pipe(
  Args.withDescription("The flow run's id (a UUID)"),
  Args.mapEffect((id) => uuidPattern.test(id.trim())
    ? Effect.succeed(id.trim().toLowerCase())
    : Effect.fail(HelpDoc.p(`'${id}' is not a flow run id: ids are UUIDs, e.g. 0b9d3c1e-7f5a-4c2e-9a41-5e8f2d6c7b10`))))

export const flowRunExecute = Command.make("execute", { id }, (o) =>
  Effect.gen(function*() {
    const execution = yield* Effect.promise(() => executeFlowRun(o.id))
    if (execution._tag === "NotRun") {
      return yield* new CliFailure({ message: `${execution.reason}${execution.failed ? " The flow run was marked Failed." : ""}` })
    }
    const { state } = execution
    yield* Console.log(`Flow run ${o.id} finished in state ${state.name}${state.type !== "COMPLETED" && state.message ? `: ${state.message}` : ""}`)
    const code = exitCodeOf(execution)
    if (code !== 0) yield* Effect.sync(() => { process.exitCode = code })
  })).pipe(Command.withDescription("Run a deployment's flow run here: load its flow from the deployment's module and run it as that run"))
