/** The options of flows and tasks, in TypeScript shape, and their translation to Orion's run policy and settings. */
import { Duration, Option } from "effect"
import type { RunPolicy } from "../domain/index.js"
import { jsonSerializer, type Serializer, textSerializer, v8Serializer } from "../../runtime/results.js"

/** Seconds before a retry: a number, a list (retry i waits list[i-1], the last repeating), or exponential backoff. */
export type RetryDelay = number | ReadonlyArray<number> | { readonly exponential: number; readonly jitter?: number }

export interface RunOptions {
  /** The name Orion shows (default: the function's name). */
  readonly name?: string
  readonly description?: string
  readonly version?: string
  readonly tags?: ReadonlyArray<string>
  /** How many times a failed run is retried (default 0). */
  readonly retries?: number
  readonly retryDelay?: RetryDelay
  /** Spread each retry delay uniformly within ±factor of its value (0–1). */
  readonly retryJitter?: number
  /** Fail the run as TimedOut when its body runs longer (a number is seconds). */
  readonly timeout?: Duration.DurationInput
  /** How the result is stored: "json" (default, plain data), "v8" (Dates, Maps, BigInts …), "text", or your own. */
  readonly serializer?: "json" | "v8" | "text" | Serializer
  /**
   * Whether the result is stored with the run's final state (default true). `false`: the caller still gets the value,
   * but nothing is written and the state carries no result (so it cannot be read back, nor cached).
   */
  readonly persistResult?: boolean
}

export const runPolicy = (options: RunOptions): RunPolicy => {
  const delay = options.retryDelay ?? 0
  const jitter = options.retryJitter ?? (typeof delay === "object" && !Array.isArray(delay) ? (delay as { jitter?: number }).jitter ?? 0 : 0)
  return {
    max_retries: Math.max(0, Math.floor(options.retries ?? 0)),
    retry_delay_seconds: typeof delay === "number" ? delay
      : Array.isArray(delay) ? [...delay] as Array<number>
      : { exponential_backoff: (delay as { exponential: number }).exponential },
    retry_jitter_factor: jitter
  }
}

export const serializerOf = (s: RunOptions["serializer"]): Serializer =>
  s === undefined || s === "json" ? jsonSerializer : s === "v8" ? v8Serializer : s === "text" ? textSerializer : s

/** Throws a clear TypeError when a duration option (a number is seconds) cannot be read, naming the run and the option. */
export const checkDuration = (what: string, option: string, value: Duration.DurationInput | undefined): void => {
  if (value === undefined) return
  const ok = typeof value === "number" ? Number.isFinite(value) && value >= 0 : Option.isSome(Duration.decodeUnknown(value))
  if (!ok) throw new TypeError(`${what}: ${option} must be a duration (a number of seconds, or e.g. "30 seconds"), got ${JSON.stringify(value) ?? String(value)}`)
}

export const timeoutOf = (t: Duration.DurationInput | undefined): Option.Option<Duration.Duration> =>
  t === undefined ? Option.none() : Option.some(typeof t === "number" ? Duration.seconds(t) : Duration.decode(t))

/** A name from the options, the function, or a fallback. */
export const nameOf = (options: RunOptions, fn: { readonly name: string }, fallback: string): string =>
  options.name ?? (fn.name !== "" && fn.name !== "anonymous" ? fn.name : fallback)
