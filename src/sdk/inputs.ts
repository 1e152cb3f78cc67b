/**
 * A task call's arguments: the upstream task runs they came from (futures, or results a task run produced — spec §11
 * "tracked inputs") and their resolution into plain values before the task runs.
 */
import { Deferred, Effect } from "effect"
import type { State, TaskInputs, TaskRunInput, Uuid } from "../domain/index.js"
import type { FlowRunContext } from "./context.js"
import { isTaskFuture, type TaskFuture } from "./future.js"

const isPlainObject = (u: unknown): u is Record<string, unknown> => {
  if (typeof u !== "object" || u === null) return false
  const proto = Object.getPrototypeOf(u)
  return proto === Object.prototype || proto === null
}

/** Visits every future and every tracked result inside `value` (arrays and plain objects, not class instances). */
const visit = (value: unknown, flow: FlowRunContext, onFuture: (f: TaskFuture<unknown>) => void, onProduced: (id: Uuid) => void, depth = 0): void => {
  if (isTaskFuture(value)) return onFuture(value)
  if (typeof value !== "object" || value === null || depth > 8) return
  const producer = flow.producers.get(value)
  if (producer !== undefined) return onProduced(producer)
  if (Array.isArray(value)) for (const v of value) visit(v, flow, onFuture, onProduced, depth + 1)
  else if (isPlainObject(value)) for (const v of Object.values(value)) visit(v, flow, onFuture, onProduced, depth + 1)
}

/** The futures an argument list (and `waitFor`) depends on. */
export const futuresIn = (values: ReadonlyArray<unknown>, flow: FlowRunContext): Array<TaskFuture<unknown>> => {
  const found: Array<TaskFuture<unknown>> = []
  for (const v of values) visit(v, flow, (f) => found.push(f), () => {}, 0)
  return found
}

/** `task_inputs`: for each argument position (and `wait_for`), the upstream task runs it came from. */
export const taskInputs = (args: ReadonlyArray<unknown>, waitFor: ReadonlyArray<TaskFuture<unknown>>, flow: FlowRunContext): Effect.Effect<TaskInputs> => {
  // Most calls take plain values: nothing to wait for, no inputs to record.
  if (waitFor.length === 0 && !args.some((a) => tracked(a, flow))) return Effect.succeed({} as TaskInputs)
  return Effect.gen(function*() {
    const inputs: Record<string, Array<TaskRunInput>> = {}
    const collect = (key: string, values: ReadonlyArray<unknown>) =>
      Effect.gen(function*() {
        const ids = new Set<Uuid>()
        const futures: Array<TaskFuture<unknown>> = []
        for (const v of values) visit(v, flow, (f) => futures.push(f), (id) => ids.add(id), 0)
        for (const f of futures) ids.add(yield* Effect.orDie(f.awaitId()))
        if (ids.size > 0) inputs[key] = [...ids].map((id) => ({ input_type: "task_run" as const, id }))
      })
    for (let i = 0; i < args.length; i++) yield* collect(String(i), [args[i]])
    if (waitFor.length > 0) yield* collect("wait_for", waitFor)
    return inputs as TaskInputs
  })
}

/** Whether `value` holds a future or a result some task run produced. */
const tracked = (value: unknown, flow: FlowRunContext): boolean => {
  let found = false
  visit(value, flow, () => (found = true), () => (found = true), 0)
  return found
}

/** Waits for every upstream run; the first that did not complete, if any. */
export const firstNotCompleted = (futures: ReadonlyArray<TaskFuture<unknown>>) =>
  Effect.gen(function*() {
    for (const f of futures) {
      const outcome = yield* f.outcome
      if (outcome.state.type !== "COMPLETED") return { future: f, state: outcome.state as State }
    }
    return undefined
  })

/** Replaces every future inside `value` by its (completed) result. */
export const resolveFutures = (value: unknown, depth = 0): Effect.Effect<unknown> =>
  Effect.gen(function*() {
    if (isTaskFuture(value)) {
      const outcome = yield* value.outcome
      return outcome.value._tag === "Some" ? outcome.value.value : undefined
    }
    if (typeof value !== "object" || value === null || depth > 8) return value
    if (Array.isArray(value)) {
      if (!value.some(containsFuture)) return value
      return yield* Effect.forEach(value, (v) => resolveFutures(v, depth + 1))
    }
    if (isPlainObject(value) && Object.values(value).some(containsFuture)) {
      const out: Record<string, unknown> = {}
      for (const [k, v] of Object.entries(value)) out[k] = yield* resolveFutures(v, depth + 1)
      return out
    }
    return value
  })

const containsFuture = (value: unknown, depth = 0): boolean => {
  if (isTaskFuture(value)) return true
  if (typeof value !== "object" || value === null || depth > 8) return false
  if (Array.isArray(value)) return value.some((v) => containsFuture(v, depth + 1))
  return isPlainObject(value) && Object.values(value).some((v) => containsFuture(v, depth + 1))
}
