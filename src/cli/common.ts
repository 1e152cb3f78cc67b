/**
 * What the daily-work commands share: the API (remote, or the local database's) with refusals as one-line failures,
 * run-id arguments, `--json`, how states and times read, and following a flow run's events from the event stream.
 */
import { Args, HelpDoc, Options } from "@effect/cli"
import { Effect, Option, ParseResult, Redacted } from "effect"
import { takeFrames } from "../client/sse-frames.js"
import type { OrionApiClient } from "../client/typed.js"
import type { FlowRun } from "../domain/runs.js"
import { Api, type CliApi, layer as apiLayer } from "./api.js"
import { CliFailure } from "./output.js"

export const terminal: ReadonlySet<string> = new Set(["COMPLETED", "FAILED", "CANCELLED", "CRASHED"])
export const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

export const json = Options.boolean("json").pipe(Options.withDescription("Print JSON (for scripts) instead of a table"))

/** A run id argument: a UUID, or one clear line saying what was wrong. */
export const runId = (what: string) =>
  Args.text({ name: "id" }).pipe(
    Args.withDescription(`The ${what}'s id (a UUID)`),
    Args.mapEffect((id) => uuidPattern.test(id.trim())
      ? Effect.succeed(id.trim().toLowerCase())
      : Effect.fail(HelpDoc.p(`'${id}' is not a ${what} id: ids are UUIDs, e.g. 0b9d3c1e-7f5a-4c2e-9a41-5e8f2d6c7b10`))))

const refusedTags = ["ObjectNotFound", "ValidationError", "InvalidRequest", "BadRequest", "Conflict", "ServiceUnavailable", "InternalError"]

/** A missing object, a refused request, or a request the typed client would not send (a value the API's schema does not allow) as one line. */
const refusal = (e: unknown): CliFailure | undefined => {
  if (ParseResult.isParseError(e)) {
    const issues = ParseResult.ArrayFormatter.formatErrorSync(e).map((i) => `${i.path.length > 0 ? `${i.path.join(".")}: ` : ""}${i.message}`)
    return new CliFailure({ message: `Invalid request: ${issues.join("; ")}` })
  }
  if (typeof e === "object" && e !== null && "_tag" in e && refusedTags.includes(String(e._tag)) && "message" in e) {
    return new CliFailure({ message: String(e.message) })
  }
  return undefined
}

/** Runs `body` with the API (remote, or the local database's), turning a missing object or a refused request into a one-line failure. */
export const withApi = <A, E, R>(body: (client: OrionApiClient, api: CliApi) => Effect.Effect<A, E, R>) =>
  Effect.flatMap(Api, (api) => body(api.client, api)).pipe(
    Effect.mapError((e) => refusal(e) ?? e),
    Effect.provide(apiLayer)
  )

export const notFound = (what: string, id: string) => () => Effect.fail(new CliFailure({ message: `No ${what} with id ${id}` }))

export const iso = (d: Date | null) => d === null ? "" : d.toISOString()
export const stateLabel = (type: string | null, name: string | null) =>
  type === null ? "-" : name !== null && name.toUpperCase().replace(/ /g, "_") !== type ? `${name} (${type})` : (name ?? type)

export const flowNames = (client: OrionApiClient, ids: ReadonlyArray<string>) =>
  ids.length === 0 ? Effect.succeed(new Map<string, string>()) : Effect.map(
    client.flows.filter({ payload: { flows: { id: { any_: [...new Set(ids)] as Array<FlowRun["flow_id"]> } }, limit: 200, offset: 0 } }),
    (flows) => new Map(flows.map((f) => [f.id as string, f.name])))

export interface StreamedEvent {
  readonly id: number
  readonly event: string
  readonly flow_run_id: string | null
  readonly task_run_id: string | null
  readonly payload: Record<string, unknown>
}

/**
 * The flow run's events from the event stream — replayed from the first, then live — until `onEvent` says the run has
 * ended and no event has come for `quiet` (log lines are shipped in batches, so some arrive after the final state);
 * reconnects (with the last event's id) when the stream ends or asks for a resync.
 */
export const followEvents = (url: string, key: Option.Option<Redacted.Redacted>, flowRunId: string, onEvent: (e: StreamedEvent) => Effect.Effect<boolean>, quiet = 3000) =>
  Effect.gen(function*() {
    let last = 0
    let endedAt: number | undefined
    for (let attempt = 0; attempt < 50; attempt++) {
      const done = yield* Effect.tryPromise({
        try: async (signal) => {
          const abort = new AbortController()
          signal.addEventListener("abort", () => abort.abort())
          const response = await fetch(`${url}/events?flow_run_id=${flowRunId}&last_event_id=${last}`, {
            headers: { accept: "text/event-stream", ...Option.match(key, { onNone: () => ({}), onSome: (k) => ({ authorization: `Bearer ${Redacted.value(k)}` }) }) },
            signal: abort.signal
          })
          if (!response.ok || response.body === null) throw new Error(`the event stream answered ${response.status}`)
          const chunks = (response.body as unknown as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]()
          const decoder = new TextDecoder()
          let buffer = ""
          try {
            for (;;) {
              const next = chunks.next()
              const wait = endedAt === undefined ? undefined : Math.max(0, endedAt + quiet - Date.now())
              const result = wait === undefined
                ? await next
                : await Promise.race([next, new Promise<"quiet">((resolve) => setTimeout(() => resolve("quiet"), wait))])
              if (result === "quiet") return true
              if (result.done === true) return false
              const { frames, rest } = takeFrames(buffer + decoder.decode(result.value, { stream: true }))
              buffer = rest
              for (const { event: kind, data } of frames) {
                if (kind === "hello") continue
                if (kind === "resync") return false
                const event = JSON.parse(data) as StreamedEvent
                last = Math.max(last, event.id)
                if (await Effect.runPromise(onEvent(event))) endedAt = Date.now()
                else if (endedAt !== undefined) endedAt = Date.now()
              }
            }
          } finally {
            abort.abort()
          }
        },
        catch: (e) => new CliFailure({ message: `Could not follow the event stream at ${url}/events: ${e instanceof Error ? e.message : String(e)}` })
      })
      if (done) return
      yield* Effect.sleep("500 millis")
    }
    return yield* new CliFailure({ message: `The event stream at ${url}/events kept ending; stopped following` })
  })
