/**
 * Deployments defined in code: a flow and the deployments that run it — one every 10 seconds, one on demand in
 * another work queue. Register them, then let an agent run them:
 *   npx orion deployment create examples/deployments.ts
 *   npx orion agent start                       # runs the 'default' queue's runs as they fall due
 *   npx orion agent start --work-queue reports  # … and this one the 'reports' queue's
 */
import { Effect, Schema } from "effect"
import { deployment, flow, task } from "@orion-ts/orion"

const count = task({ name: "count" }, (n: number) => Effect.succeed(Array.from({ length: n }, (_, i) => i + 1)))

const total = task({ name: "total" }, async (values: ReadonlyArray<number>) => values.reduce((a, b) => a + b, 0))

export const tally = flow({ name: "tally", parameters: Schema.Struct({ n: Schema.Number, label: Schema.optional(Schema.String) }) }, ({ n, label }) =>
  Effect.gen(function*() {
    const values = yield* count(n)
    const sum = yield* total(values)
    yield* Effect.log(`${label ?? "tally"}: 1..${n} sums to ${sum}`)
    return sum
  }))

/** Every 10 seconds, with n = 10. */
export const everyTenSeconds = deployment({
  flow: tally,
  name: "every-10s",
  parameters: { n: 10 },
  tags: ["example"],
  schedule: { interval: "10 seconds" }
})

/** No schedule: runs made on demand (`orion deployment run tally/report`) go to the 'reports' queue. */
export const report = deployment({
  flow: tally,
  name: "report",
  parameters: { n: 100, label: "report" },
  workQueue: "reports"
})
