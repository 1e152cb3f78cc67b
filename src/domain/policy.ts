/** Retry policies of runs: how many retries and how long to wait before each (spec §1.3, §11 "Retries with delays/backoff"). */
import { Schema } from "effect"
import { Seconds, withDefault } from "./primitives.js"

const NonNegativeSeconds = Seconds.pipe(Schema.nonNegative())

/**
 * The delay before a retry: a fixed number of seconds, a list (retry i waits list[min(i-1, len-1)]),
 * or exponential backoff (retry i waits factor·2^(i-1)).
 */
export const RetryDelay = Schema.Union(
  NonNegativeSeconds,
  Schema.Array(NonNegativeSeconds).pipe(Schema.minItems(1)),
  Schema.Struct({ exponential_backoff: NonNegativeSeconds })
).annotations({ identifier: "RetryDelay" })
export type RetryDelay = typeof RetryDelay.Type

export const RunPolicy = Schema.Struct({
  max_retries: withDefault(Schema.Int.pipe(Schema.nonNegative()), () => 0),
  retry_delay_seconds: withDefault(RetryDelay, () => 0),
  /** Each delay is drawn uniformly within ±factor of its base value (0 = no jitter). */
  retry_jitter_factor: withDefault(Schema.Number.pipe(Schema.between(0, 1)), () => 0),
  /**
   * Whether a flow run that crashed (its process died: the crash-detection service found its heartbeats stopped) is
   * retried like a failed one, within the same `max_retries`. Absent: no.
   */
  retry_crashed: Schema.optionalWith(Schema.Boolean, { exact: true })
}).annotations({ identifier: "RunPolicy" })
export type RunPolicy = typeof RunPolicy.Type

export const defaultRunPolicy: RunPolicy = { max_retries: 0, retry_delay_seconds: 0, retry_jitter_factor: 0 }

/**
 * The longest wait before a retry (100 years): longer delays, given or grown by backoff, are cut to it, so that every
 * retry's scheduled time is a date that can be stored.
 */
export const MAX_RETRY_DELAY_SECONDS = 100 * 365.25 * 86_400

/** The base delay (before jitter) for the `retry`-th retry, counting from 1; at most `MAX_RETRY_DELAY_SECONDS`. */
export const baseRetryDelay = (delay: RetryDelay, retry: number): number => {
  const i = Math.max(1, retry)
  let seconds: number
  if (typeof delay === "number") seconds = delay
  else if (Array.isArray(delay)) seconds = delay[Math.min(i - 1, delay.length - 1)] ?? 0
  else {
    const factor = (delay as { exponential_backoff: number }).exponential_backoff
    seconds = factor === 0 ? 0 : factor * 2 ** (i - 1)
  }
  return Math.min(seconds, MAX_RETRY_DELAY_SECONDS)
}
