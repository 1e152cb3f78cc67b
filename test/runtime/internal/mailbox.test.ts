/** The actors' mailbox: messages in order, a reader that waits for the first and takes what is there, closing. */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import * as Mailbox from "../../../runtime/internal/mailbox.js"

describe("mailbox", () => {
  it.effect("takes what is waiting, oldest first, up to the maximum; the rest stays for the next take", () =>
    Effect.gen(function*() {
      const box = Mailbox.make<number>()
      for (let i = 1; i <= 5; i++) expect(box.offer(i)).toBe(true)
      expect(yield* box.takeUpTo(3)).toEqual([1, 2, 3])
      expect(box.poll(10)).toEqual([4, 5])
      expect(box.poll(10)).toEqual([])
    }))

  it.effect("a reader waits for the first message, then takes every one there", () =>
    Effect.gen(function*() {
      const box = Mailbox.make<string>()
      const reader = yield* Effect.fork(box.takeUpTo(10))
      yield* Effect.yieldNow()
      expect(reader.unsafePoll()).toBeNull()
      box.offer("a")
      box.offer("b")
      expect(yield* Fiber.join(reader)).toEqual(["a", "b"])
    }))

  it.effect("a waiting reader can be interrupted, and the next one still gets the message", () =>
    Effect.gen(function*() {
      const box = Mailbox.make<string>()
      const first = yield* Effect.fork(box.takeUpTo(10))
      yield* Effect.yieldNow()
      yield* Fiber.interrupt(first)
      box.offer("x")
      expect(yield* box.takeUpTo(10)).toEqual(["x"])
    }))

  it.effect("closing refuses new messages and hands back those still waiting", () =>
    Effect.gen(function*() {
      const box = Mailbox.make<number>()
      box.offer(1)
      box.offer(2)
      expect(box.close()).toEqual([1, 2])
      expect(box.offer(3)).toBe(false)
      expect(box.poll(10)).toEqual([])
    }))
})
