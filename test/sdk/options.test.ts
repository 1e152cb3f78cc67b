/** Bad options of flow() and task() are clear errors when the flow or task is defined, naming it and the option. */
import { describe, expect, it } from "vitest"
import { flow, task } from "../../src/index.js"

describe("flow and task options", () => {
  it("a timeout or cache expiration that is not a duration is refused at definition", () => {
    expect(() => task({ name: "t", timeout: "soon" as never }, () => 1))
      .toThrow(`task 't': timeout must be a duration (a number of seconds, or e.g. "30 seconds"), got "soon"`)
    expect(() => task({ name: "t", timeout: -1 }, () => 1)).toThrow("task 't': timeout must be a duration")
    expect(() => task({ name: "c", cacheKey: () => "k", cacheExpiration: Number.NaN }, () => 1)).toThrow("task 'c': cacheExpiration must be a duration")
    expect(() => flow({ name: "f", timeout: "a while" as never }, () => 1)).toThrow(`flow 'f': timeout must be a duration`)
  })

  it("good durations are accepted in every form", () => {
    expect(task({ name: "ok", timeout: 1.5, cacheExpiration: "1 hour" }, () => 1).name).toBe("ok")
    expect(flow({ name: "ok-flow", timeout: "30 seconds" }, () => 1).name).toBe("ok-flow")
  })

  it("retry options out of range are refused at definition", () => {
    expect(() => task({ name: "r", retries: 2, retryJitter: 3 }, () => 1)).toThrow("task 'r': invalid retry options")
    expect(() => flow({ name: "fr", retries: 1, retryDelay: -5 }, () => 1)).toThrow("flow 'fr': invalid retry options")
  })
})
