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
  retry_jitter_factor: withDefault(Schema.Number.pipe(Schema.between(0, 1)), () => 0)
}).annotations({ identifier: "RunPolicy" })
export type RunPolicy = typeof RunPolicy.Type

export const defaultRunPolicy: RunPolicy = { max_retries: 0, retry_delay_seconds: 0, retry_jitter_factor: 0 }

/** The base delay (before jitter) for the `retry`-th retry, counting from 1. */
export const baseRetryDelay = (delay: RetryDelay, retry: number): number => {
  const i = Math.max(1, retry)
  if (typeof delay === "number") return delay
  if (Array.isArray(delay)) return delay[Math.min(i - 1, delay.length - 1)] ?? 0
  return (delay as { exponential_backoff: number }).exponential_backoff * 2 ** (i - 1)
}
