/**
 * Following one flow run's states from the event stream until it ends — for `deployment run --watch` and
 * `flow-run cancel --wait` — and turning how it ended into the command's exit: 0 only for the state wanted.
 */
import { Console, Effect } from "effect"
import type { CliApi } from "./api.js"
import { CliFailure } from "./output.js"
import { followEvents, stateLabel, terminal } from "./common.js"

/** A state as the event stream carries it. */
export interface WatchedState {
  readonly type: string
  readonly name: string
  readonly timestamp: string
  readonly message: string | null
}

/** `…+00:00` on the wire; `…Z`, like every other time the CLI prints. */
const isoOf = (wire: string | undefined) => {
  const at = wire === undefined ? Number.NaN : Date.parse(wire)
  return Number.isNaN(at) ? wire ?? "" : new Date(at).toISOString()
}

const stateOf = (payload: Record<string, unknown>): WatchedState | undefined => {
  const state = payload.state as Partial<WatchedState> | null | undefined
  return state?.type === undefined ? undefined : {
    type: state.type, name: state.name ?? state.type, timestamp: isoOf(state.timestamp), message: state.message ?? null
  }
}

/** One state as a line: `<timestamp>  <state> — <message>`, or one JSON object. */
export const stateLine = (s: WatchedState, json: boolean): string =>
  json
    ? JSON.stringify({ timestamp: s.timestamp, type: s.type, name: s.name, message: s.message })
    : `${s.timestamp}  ${stateLabel(s.type, s.name)}${s.message ? ` — ${s.message}` : ""}`

/**
 * Follows the flow run's states (replayed from its creation, then live) until it is in a terminal state; prints each
 * one when `print` is set. Returns the terminal state.
 */
export const watchFlowRun = (api: CliApi, flowRunId: string, options: { readonly print: boolean; readonly json: boolean }) =>
  Effect.gen(function*() {
    let final: WatchedState | undefined
    let lastPrinted: string | undefined
    yield* followEvents(api.url, api.key, flowRunId, (e) => {
      if ((e.event !== "flow_run.state_changed" && e.event !== "flow_run.created") || e.payload.run_id !== flowRunId) return Effect.succeed(false)
      const state = stateOf(e.payload)
      if (state === undefined) return Effect.succeed(false)
      const print = options.print && lastPrinted !== `${state.timestamp}|${state.type}|${state.name}`
        ? Console.log(stateLine(state, options.json))
        : Effect.void
      lastPrinted = `${state.timestamp}|${state.type}|${state.name}`
      if (terminal.has(state.type)) final = state
      return Effect.as(print, terminal.has(state.type))
    }, 0)
    if (final === undefined) return yield* new CliFailure({ message: `Stopped following flow run ${flowRunId} before it ended` })
    return final
  })

/** Exit 0 when the run ended in `wanted`; else one line saying how it ended, and exit 1. */
export const endedAs = (runName: string, final: WatchedState, wanted: string, json: boolean) =>
  final.type === wanted
    ? json ? Effect.void : Console.log(`Flow run '${runName}' finished in state ${final.name}.`)
    : Effect.fail(new CliFailure({ message: `Flow run '${runName}' finished in state ${final.name}${final.message ? `: ${final.message}` : ""}` }))
