/**
 * The loop-service pattern (spec §5.1) as a `Service`: a pass every `loopSeconds`, measured from the start of the
 * previous pass; a pass that fails is reported and logged, and the loop goes on (a defect ends the service, and its
 * supervisor restarts it). A pass longer than the loop is logged as a warning.
 */
import { Cause, Clock, Duration, Effect } from "effect"
import { describeCause } from "../src/storage/database.js"
import type { Service, ServiceReporter } from "./service.js"

/** "1 run", "3 runs": for the lines a pass logs. */
export const runsText = (n: number) => `${n} run${n === 1 ? "" : "s"}`

export interface LoopServiceOptions<R> {
  readonly name: string
  readonly description: string
  readonly loopSeconds: number
  /**
   * One pass; what it returns (e.g. "Scheduled 3 runs.") is logged when not empty. It reports the failures it goes on
   * from (one bad deployment) itself; a failure it returns ends the pass, and the next pass comes at its time.
   */
  readonly runOnce: (report: ServiceReporter) => Effect.Effect<string | void, unknown, R>
}

export const loopService = <R>(options: LoopServiceOptions<R>): Service<R> => ({
  name: options.name,
  description: options.description,
  run: (report) =>
    Effect.gen(function*() {
      const loopMillis = options.loopSeconds * 1000
      while (true) {
        const start = yield* Clock.currentTimeMillis
        // Defects pass through (the supervisor restarts the service); failures are reported and the loop goes on.
        const outcome = yield* Effect.either(options.runOnce(report))
        const end = yield* Clock.currentTimeMillis
        if (outcome._tag === "Left") {
          yield* report.error(describeCause(Cause.fail(outcome.left)))
        } else {
          yield* report.loopDone(end - start)
          if (typeof outcome.right === "string" && outcome.right !== "") yield* Effect.logInfo(`service ${options.name}: ${outcome.right}`)
        }
        if (end - start > loopMillis) {
          yield* Effect.logWarning(`service ${options.name}: a pass took ${end - start} ms, longer than its loop of ${options.loopSeconds} s`)
        }
        const next = Math.max(start + loopMillis, end)
        yield* report.nextDue(new Date(next))
        yield* Effect.sleep(Duration.millis(next - end))
      }
    })
})
