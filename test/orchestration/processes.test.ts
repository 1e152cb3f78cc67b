/** Separate processes sharing one database file (or server) race to move one run: exactly one of them wins. */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { spawn } from "node:child_process"
import * as readline from "node:readline"
import { States } from "../../src/domain/index.js"
import * as Database from "../../src/storage/database.js"
import { EventBus } from "../../runtime/event-bus.js"
import * as Orch from "../../runtime/orchestrator.js"
import { databases } from "../support/databases.js"
import { newFlowRun, propose } from "../support/orchestrator.js"

const child = (url: string, runId: string, count: number) => {
  const proc = spawn(process.execPath, ["--import", "tsx", "test/support/propose-child.ts", url, runId, String(count)], { stdio: ["pipe", "pipe", "inherit"] })
  const lines = readline.createInterface({ input: proc.stdout! })
  const ready = new Promise<void>((resolve) => lines.once("line", () => resolve()))
  const result = new Promise<Array<string>>((resolve, reject) => {
    lines.on("line", (l) => { if (l.startsWith("[")) resolve(JSON.parse(l)) })
    proc.on("exit", (code) => code !== 0 && reject(new Error(`child exited with ${code}`)))
  })
  return { ready, go: () => proc.stdin!.write("go\n"), result }
}

describe.each(databases)("processes sharing one $name database", (db) => {
  it.live("three processes propose Running on one flow run at once: exactly one is accepted", () =>
    Effect.scoped(Effect.gen(function*() {
      const { url, lifecycle } = db.fresh()
      yield* Layer.build(lifecycle)
      const layer = Orch.layer().pipe(Layer.provideMerge(EventBus.layer), Layer.provideMerge(Database.layerFromUrl(url)))
      yield* Effect.gen(function*() {
        const id = yield* newFlowRun()
        const others = [child(url, id, 20), child(url, id, 20)]
        yield* Effect.promise(() => Promise.all(others.map((c) => c.ready)))
        others.forEach((c) => c.go())
        const mine = yield* Effect.forEach(Array.from({ length: 20 }), () => propose("flow_run", id, States.Running()), { concurrency: "unbounded" })
        const theirs = yield* Effect.promise(() => Promise.all(others.map((c) => c.result)))
        const all = [...mine.map((r) => r.status), ...theirs.flat()]
        expect(all.length).toBe(60)
        expect(all.filter((s) => s === "ACCEPT").length).toBe(1)
        expect(all.filter((s) => s === "ABORT").length).toBe(59)
      }).pipe(Effect.provide(layer))
    })), 60_000)
})
