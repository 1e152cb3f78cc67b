/** Ids: `newUuid` makes version-7 UUIDs that the Uuid schema accepts, carry their time, and sort in creation order. */
import { Schema } from "effect"
import { describe, expect, it } from "vitest"
import { newUuid, Uuid } from "../../src/domain/primitives.js"

describe("newUuid", () => {
  it("makes valid version-7 UUIDs, distinct and in creation order, with the creation time in their first 48 bits", () => {
    const before = Date.now()
    const ids = Array.from({ length: 5_000 }, () => newUuid())
    const after = Date.now()
    for (const id of ids) {
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
      expect(Schema.decodeUnknownSync(Uuid)(id)).toBe(id)
    }
    expect(new Set(ids).size).toBe(ids.length)
    expect([...ids].sort()).toEqual(ids)
    for (const id of [ids[0]!, ids.at(-1)!]) {
      const ms = parseInt(id.replace(/-/g, "").slice(0, 12), 16)
      expect(ms).toBeGreaterThanOrEqual(before)
      expect(ms).toBeLessThanOrEqual(after)
    }
  })

  it("spreads its random bits: every hex digit shows up in every random position", () => {
    const ids = Array.from({ length: 2_000 }, () => newUuid())
    for (const position of [20, 21, 22, 24, 30, 35]) {
      expect(new Set(ids.map((id) => id[position])).size).toBe(16)
    }
    expect(new Set(ids.map((id) => id[19]))).toEqual(new Set(["8", "9", "a", "b"]))
  })
})
