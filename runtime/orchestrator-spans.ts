/**
 * The orchestrator with a span per proposal (`orion.propose`) and per run creation (`orion.create_flow_run`,
 * `orion.create_task_run`), each carrying its decision — when a tracer is installed; otherwise the orchestrator itself,
 * untouched but for one look at the current tracer per call.
 */
import { Effect, Layer } from "effect"
import type { OrchestrationResult } from "../src/domain/index.js"
import { Orchestrator } from "./orchestrator.js"
import { whenTracing } from "./internal/tracing.js"

/** The decision's attributes on the current span. */
const decided = (result: OrchestrationResult) =>
  Effect.annotateCurrentSpan({
    "orion.decision.status": result.status,
    ...(result.state === null ? {} : { "orion.decision.state_type": result.state.type, "orion.decision.state_name": result.state.name }),
    ...("reason" in result.details && result.details.reason !== null ? { "orion.decision.reason": result.details.reason } : {}),
    ...(result.details.type === "wait_details" ? { "orion.decision.delay_seconds": result.details.delay_seconds } : {})
  })

/** Wraps the `Orchestrator` in context; provide it on top of `Orchestrator.layer`. */
export const withSpans: Layer.Layer<Orchestrator, never, Orchestrator> = Layer.effect(Orchestrator, Effect.map(Orchestrator, (o) =>
  Orchestrator.of({
    ...o,
    propose: (ref, state, options) => {
      const plain = o.propose(ref, state, options)
      return whenTracing(plain, () =>
        Effect.tap(plain, decided).pipe(Effect.withSpan("orion.propose", {
          attributes: {
            "orion.run.kind": ref.kind, "orion.run.id": ref.id,
            "orion.proposed.type": state.type, "orion.proposed.name": state.name ?? state.type, "orion.proposed.forced": options?.force ?? false
          }
        })))
    },
    createFlowRun: (payload, options) => {
      const plain = o.createFlowRun(payload, options)
      return whenTracing(plain, () =>
        Effect.tap(plain, (created) =>
          Effect.zipRight(
            Effect.annotateCurrentSpan({ "orion.flow_run.id": created.id, "orion.created": created.created }),
            created.started === undefined ? Effect.void : decided(created.started)
          )).pipe(Effect.withSpan("orion.create_flow_run", {
            attributes: { "orion.flow_run.name": payload.name ?? "", ...(options?.start ? { "orion.proposed.type": options.start.type } : {}) }
          })))
    },
    createTaskRun: (payload, options) => {
      const plain = o.createTaskRun(payload, options)
      return whenTracing(plain, () =>
        Effect.tap(plain, (created) =>
          Effect.zipRight(
            Effect.annotateCurrentSpan({ "orion.task_run.id": created.id, "orion.created": created.created }),
            created.started === undefined ? Effect.void : decided(created.started)
          )).pipe(Effect.withSpan("orion.create_task_run", {
            attributes: { "orion.task_run.name": payload.name, "orion.flow_run.id": payload.flow_run_id, ...(options?.start ? { "orion.proposed.type": options.start.type } : {}) }
          })))
    }
  })))
