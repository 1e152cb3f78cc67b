/**
 * What a script that runs a flow prints when the flow run ends (top-level runs only, on stderr, in the format of the
 * run loggers' console lines): each task run that failed or crashed with its message, then the flow run's final state
 * — so that a failure is never silent. `ORION_REPORT_RUNS=false` turns it off.
 */
import { Config, Effect } from "effect"
import type { OrionClient } from "../client/orion-client.js"
import type { State, Uuid } from "../domain/index.js"

/** `ORION_REPORT_RUNS`: whether a script reports how its top-level flow runs ended (default true). */
export const reportRuns = Config.boolean("ORION_REPORT_RUNS").pipe(Config.withDefault(true))

const line = (level: "INFO" | "ERROR", name: string, text: string) =>
  Effect.sync(() => process.stderr.write(`${new Date().toISOString()} ${level} ${name} - ${text}\n`))

/** Reports the end of flow run `id` (named `runName`) of flow `flowName` in `state`; reading what failed is best-effort and never fails the run. */
export const reportFinished = (client: OrionClient["Type"], flowName: string, id: Uuid, runName: string, state: State): Effect.Effect<void> =>
  Effect.gen(function*() {
    if (!(yield* Effect.orElseSucceed(reportRuns, () => true))) return
    const name = `orion.flow_runs.${flowName}`
    if (state.type !== "COMPLETED") {
      const failed = yield* client.readTaskRuns({
        flow_runs: { id: { any_: [id] } }, task_runs: { state: { type: { any_: ["FAILED", "CRASHED"] } } },
        sort: "EXPECTED_START_TIME_ASC", limit: 200, offset: 0
      })
      for (const t of failed) {
        yield* line("ERROR", `orion.task_runs.${t.name.replace(/-\d+$/, "")}`,
          `Task run '${t.name}' finished in state ${t.state_name ?? t.state_type}${t.run_count > 1 ? ` after ${t.run_count} attempts` : ""}${t.state?.message ? `: ${t.state.message}` : ""}`)
      }
    }
    yield* line(state.type === "COMPLETED" ? "INFO" : "ERROR", name,
      `Flow run '${runName}' (${id}) finished in state ${state.name}${state.type !== "COMPLETED" && state.message ? `: ${state.message}` : ""}`)
  }).pipe(Effect.catchAll(() => Effect.void))
