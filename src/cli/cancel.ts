/**
 * `orion flow-run cancel <id> [--wait]`: asks the orchestrator to cancel a flow run. A run that has not started is
 * Cancelled at once; a running one becomes Cancelling, and the process running it interrupts it — its task runs and
 * subflows with it — and marks it Cancelled. `--wait` follows it there.
 */
import { Options } from "@effect/cli"
import * as Command from "@effect/cli/Command"
import { Console, Effect } from "effect"
import type { FlowRun } from "../domain/runs.js"
import { States } from "../domain/state.js"
import { CliFailure, printJson } from "./output.js"
import { json, notFound, runId, terminal, withApi } from "./common.js"
import { endedAs, watchFlowRun } from "./watch.js"

const wait = Options.boolean("wait").pipe(
  Options.withAlias("w"),
  Options.withDescription("Wait until the run is Cancelled (the process running it has stopped it); exit 1 if it ended otherwise"))

const reasonOf = (details: { readonly type: string; readonly reason?: string | null }) => details.reason ?? "no reason given"

export const flowRunCancel = Command.make("cancel", { id: runId("flow run"), wait, json }, (o) =>
  withApi((client, api) => Effect.gen(function*() {
    const run = yield* client.flow_runs.get({ path: { id: o.id as FlowRun["id"] } }).pipe(Effect.catchTag("ObjectNotFound", notFound("flow run", o.id)))
    if (run.state_type !== null && terminal.has(run.state_type)) {
      return yield* new CliFailure({ message: `Flow run '${run.name}' has already finished (${run.state_name ?? run.state_type}): there is nothing to cancel` })
    }
    let state = run.state
    if (run.state_type === "CANCELLING") {
      if (!o.json) yield* Console.log(`Flow run '${run.name}' is already being cancelled.`)
    } else {
      const result = yield* client.flow_runs.setState({
        path: { id: run.id },
        payload: { state: States.Cancelling({ message: "Cancelled from the command line" }), force: false }
      })
      if (result.state === null || (result.status !== "ACCEPT" && result.status !== "REJECT")) {
        return yield* new CliFailure({ message: `Flow run '${run.name}' was not cancelled: ${result.status} (${reasonOf(result.details)})` })
      }
      state = result.state
      if (!o.json) {
        yield* Console.log(state.type === "CANCELLED"
          ? `Flow run '${run.name}' (${run.id}) had not started running (${run.state_name ?? "no state"}): it is Cancelled.`
          : `Flow run '${run.name}' (${run.id}) is Cancelling: the process running it stops it, with its task runs and subflows, and marks it Cancelled.`)
      }
    }
    if (!o.wait || state?.type === "CANCELLED") return o.json ? yield* printJson({ flow_run_id: run.id, state }) : undefined
    if (!o.json) yield* Console.log("Waiting for it to be Cancelled (Ctrl-C stops waiting; the cancellation stands)…")
    const final = yield* watchFlowRun(api, run.id, { print: false, json: o.json })
    if (o.json) yield* printJson({ flow_run_id: run.id, state: final })
    yield* endedAs(run.name, final, "CANCELLED", o.json)
  }))).pipe(Command.withDescription(
    "Cancel a flow run: one not yet running is Cancelled at once; a running one is stopped by the process running it (with its task runs and subflows)"))
