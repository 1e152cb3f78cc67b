/** `deployment()`: what a deployment defined in code validates and how it reads its schedule. */
import { Effect, Schema } from "effect"
import { describe, expect, it } from "vitest"
import { deployment, flow } from "../../src/index.js"
import { isDeploymentDefinition } from "../../src/sdk/deployment.js"
import { dueTimeOf } from "../../services/agent-signals.js"

const etl = flow({ name: "deployment-etl", tags: ["etl"], parameters: Schema.Struct({ n: Schema.Number, label: Schema.String }) }, ({ n }) => Effect.succeed(n))

describe("deployment()", () => {
  it("takes the flow's name, defaults (no schedule, active, queue 'default') and typed partial parameters", () => {
    const d = deployment({ flow: etl, name: "nightly", parameters: { n: 3 } })
    expect(isDeploymentDefinition(d)).toBe(true)
    expect(d).toMatchObject({ flowName: "deployment-etl", name: "nightly", parameters: { n: 3 }, tags: [], schedule: null, scheduleActive: true, workQueue: "default" })
    expect(isDeploymentDefinition({ name: "nightly" })).toBe(false)
  })

  it("reads schedules as the API takes them: an interval in seconds or a duration, cron, rrule", () => {
    expect(deployment({ flow: etl, name: "a", schedule: { interval: "1 hour" } }).schedule).toEqual({ interval: 3600, timezone: null, anchor_date: null })
    expect(deployment({ flow: etl, name: "b", schedule: { interval: 90, anchorDate: "2026-01-01T00:00:00Z" } }).schedule)
      .toEqual({ interval: 90, timezone: null, anchor_date: new Date("2026-01-01T00:00:00Z") })
    expect(deployment({ flow: etl, name: "c", schedule: { cron: "0 9 * * 1-5", timezone: "Europe/Berlin", dayOr: false } }).schedule)
      .toEqual({ cron: "0 9 * * 1-5", timezone: "Europe/Berlin", day_or: false })
    expect(deployment({ flow: etl, name: "d", schedule: { rrule: "FREQ=DAILY" }, workQueue: "reports", tags: ["x", "x", "y"], scheduleActive: false }))
      .toMatchObject({ schedule: { rrule: "FREQ=DAILY", timezone: "UTC" }, workQueue: "reports", tags: ["x", "y"], scheduleActive: false })
  })

  it("gives its runs the flow's retry policy, with the deployment's own retries and crash retries; a catch-up window and an overlap policy", () => {
    const retrying = flow({ name: "deployment-retrying", retries: 2, retryDelay: 5 }, async () => 1)
    expect(deployment({ flow: retrying, name: "plain" })).toMatchObject({
      policy: { max_retries: 2, retry_delay_seconds: 5 }, catchupSeconds: null, overlap: "allow"
    })
    expect(deployment({ flow: retrying, name: "plain" }).policy.retry_crashed).toBeUndefined()
    expect(deployment({ flow: retrying, name: "sturdy", retries: 4, retryCrashed: true, catchUp: "10 minutes", overlap: "skip" })).toMatchObject({
      policy: { max_retries: 4, retry_delay_seconds: 5, retry_crashed: true }, catchupSeconds: 600, overlap: "skip"
    })
    expect(deployment({ flow: etl, name: "n", catchUp: 30, overlap: "cancel_previous" })).toMatchObject({ catchupSeconds: 30, overlap: "cancel_previous" })
    expect(() => deployment({ flow: etl, name: "x", retries: -1 })).toThrow(/deployment 'x': invalid retry options: .*max_retries/s)
    expect(() => deployment({ flow: etl, name: "x", catchUp: "later" as never })).toThrow(`deployment 'x': invalid catchUp "later"`)
    expect(() => deployment({ flow: etl, name: "x", catchUp: -5 })).toThrow(/deployment 'x': invalid catchUp: /)
    expect(() => deployment({ flow: etl, name: "x", overlap: "queue" as never })).toThrow(`deployment 'x': invalid overlap "queue": give "allow", "skip" or "cancel_previous"`)
  })

  it("throws at once, naming the deployment and what is wrong", () => {
    expect(() => deployment({ flow: etl, name: "" })).toThrow("a deployment needs a name")
    expect(() => deployment({ flow: etl, name: "a/b" })).toThrow("deployment 'a/b': a deployment name cannot contain '/'")
    expect(() => deployment({ flow: (() => 1) as never, name: "x" })).toThrow("deployment 'x': `flow` must be a flow made with flow()")
    expect(() => deployment({ flow: etl, name: "x", schedule: { interval: "soon" as never } })).toThrow(`deployment 'x': invalid interval "soon"`)
    expect(() => deployment({ flow: etl, name: "x", schedule: { interval: 0 } })).toThrow(/deployment 'x': invalid schedule: .*interval must be between/s)
    expect(() => deployment({ flow: etl, name: "x", schedule: { cron: "every day" } })).toThrow(/deployment 'x': invalid schedule: .*Invalid cron "every day": expected 5 fields/s)
    expect(() => deployment({ flow: etl, name: "x", schedule: { cron: "* * * * *", timezone: "Mars/Base" } })).toThrow(`deployment 'x': invalid schedule: timezone: Unknown time zone: "Mars/Base"`)
    expect(() => deployment({ flow: etl, name: "x", schedule: { rrule: "FREQ=DAILY;BYEASTER=0" } })).toThrow(/^deployment 'x': invalid schedule: Invalid rrule "FREQ=DAILY;BYEASTER=0": BYEASTER is not an RRULE part/)
    expect(() => deployment({ flow: etl, name: "x", workQueue: "no spaces" })).toThrow(/deployment 'x': invalid work queue: .*a work queue name is letters/s)
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    expect(() => deployment({ flow: etl, name: "x", parameters: cyclic as never })).toThrow("deployment 'x': the parameters must be JSON data to be stored")
  })
})

describe("the agent's wake-up signals", () => {
  it("a run created or moved Scheduled is due at its scheduled time; other events make nothing due", () => {
    const scheduled = { state: { type: "SCHEDULED", state_details: { scheduled_time: "2026-12-07T10:00:00.000000+00:00" } } }
    expect(dueTimeOf("flow_run.created", scheduled)).toEqual(new Date("2026-12-07T10:00:00Z"))
    expect(dueTimeOf("flow_run.state_changed", scheduled)).toEqual(new Date("2026-12-07T10:00:00Z"))
    expect(dueTimeOf("flow_run.state_changed", { state: { type: "SCHEDULED", state_details: { scheduled_time: null } } })).toEqual(new Date(0))
    expect(dueTimeOf("flow_run.state_changed", { state: { type: "RUNNING", state_details: {} } })).toBeUndefined()
    expect(dueTimeOf("task_run.state_changed", scheduled)).toBeUndefined()
    expect(dueTimeOf("flow_run.state_changed", { state: null })).toBeUndefined()
  })
})
