/**
 * What a long-lived service actor is (DESIGN.md "Service actors"): a name, and a program that runs until interrupted,
 * telling its supervisor how it is doing through a `ServiceReporter`. The supervisor (services/supervisor.ts) restarts
 * it with back-off after a failure or defect and shows its status at `GET /api/admin/services`.
 */
import type { Effect } from "effect"

/** How a running service reports progress; each call updates its status at once. */
export interface ServiceReporter {
  /** One iteration ended (a loop pass, a batch of claimed runs …), taking `ms`. */
  readonly loopDone: (ms: number) => Effect.Effect<void>
  /** When the service next acts on its own, or null when it only waits for events. */
  readonly nextDue: (at: Date | null) => Effect.Effect<void>
  /** A failure the service handled itself and went on from (one bad deployment, one failed submission). */
  readonly error: (message: string) => Effect.Effect<void>
}

export interface Service<R = never> {
  /** Short and stable: `scheduler`, `late-runs`, `crash-detection`, `agent`. */
  readonly name: string
  /** One line for `orion start` and the dashboard. */
  readonly description: string
  /** Runs until interrupted. Failing or dying ends this run; the supervisor starts it again after a back-off. */
  readonly run: (report: ServiceReporter) => Effect.Effect<never, unknown, R>
}
