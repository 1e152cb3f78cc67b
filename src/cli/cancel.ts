/**
 * `orion flow-run cancel <id> [--wait | --force]`: asks the orchestrator to cancel a flow run. A run that has not
 * started is Cancelled at once; a running one becomes Cancelling, and the process running it interrupts it — its task
 * runs and subflows with it — and marks it Cancelled. `--wait` follows it there; `--force` marks it all Cancelled
 * without that process (for one that is gone).
 */
import { Options } from "@effect/cli"
import * as Command from "@effect/cli/Command"
import { Console, Effect } from "effect"
import type { FlowRun } from "../domain/runs.js"
import { States } from "../domain/state.js"
import { CliFailure, printJson } from "./output.js"
import { json, notFound, runId, terminal, withApi } from "./common.js"
import { forceCancelTree, silentFor } from "./force-cancel.js"
import { endedAs, watchFlowRun } from "./watch.js"

const wait = Options.boolean("wait").pipe(
  Options.withAlias("w"),
  Options.withDescription("Wait until the run is Cancelled (the process running it has stopped it); exit 1 if it ended otherwise"))

const force = Options.boolean("force").pipe(Options.withDescription(
  "Mark the run, its subflow runs and its unfinished task runs Cancelled now, without waiting for the process running it (for a run whose process is gone)"))

const reasonOf = (details: { readonly type: string; readonly reason?: string | null }) => details.reason ?? "no reason given"

export const flowRunCancel = Command.make("cancel", { id: runId("flow run"), wait, force, json }, (o) =>
  withApi((client, api) => Effect.gen(function*() {
    const run = yield* client.flow_runs.get({ path: { id: o.id as FlowRun["id"] } }).pipe(Effect.catchTag("ObjectNotFound", notFound("flow run", o.id)))
    if (run.state_type !== null && terminal.has(run.state_type)) {
      return yield* new CliFailure({ message: `Flow run '${run.name}' has already finished (${run.state_name ?? run.state_type}): there is nothing to cancel` })
    }
    if (o.force) {
      const counts = yield* forceCancelTree(client, run.id)
      if (o.json) return yield* printJson({ flow_run_id: run.id, state: (yield* client.flow_runs.get({ path: { id: run.id } })).state, forced: counts })
      return yield* Console.log(`Flow run '${run.name}' (${run.id}) is marked Cancelled without waiting for the process running it, with ${counts.taskRuns} task run(s) and ${counts.subflowRuns} subflow run(s) under it.`)
    }
    const silent = yield* silentFor(run)
    const hint = silent === undefined ? "" : ` Its process last reported ${Math.round(silent)}s ago and may be gone: \`orion flow-run cancel ${run.id} --force\` marks it Cancelled without it.`
    let state = run.state
    if (run.state_type === "CANCELLING") {
      if (!o.json) yield* Console.log(`Flow run '${run.name}' is already being cancelled.${hint}`)
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
          : `Flow run '${run.name}' (${run.id}) is Cancelling: the process running it stops it, with its task runs and subflows, and marks it Cancelled.${hint}`)
      }
    }
    if (!o.wait || state?.type === "CANCELLED") return o.json ? yield* printJson({ flow_run_id: run.id, state }) : undefined
    if (!o.json) yield* Console.log("Waiting for it to be Cancelled (Ctrl-C stops waiting; the cancellation stands)…")
    const final = yield* watchFlowRun(api, run.id, { print: false, json: o.json })
    if (o.json) yield* printJson({ flow_run_id: run.id, state: final })
    yield* endedAs(run.name, final, "CANCELLED", o.json)
  }))).pipe(Command.withDescription(
    "Cancel a flow run: one not yet running is Cancelled at once; a running one is stopped by the process running it (with its task runs and subflows); --force marks it all Cancelled without that process"))
