/** The background checkpointer: WAL pages reach the database file without the writer ever checkpointing. */
import Sqlite from "better-sqlite3"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import * as Checkpointer from "../../src/storage/sqlite-checkpointer.js"
import { tempDir } from "../support/databases.js"

/** A WAL database whose own connection never checkpoints, with `rows` rows of 4 KiB written. */
const walDatabase = (rows: number) => {
  const file = path.join(tempDir("orion-checkpoint-"), "db.sqlite")
  const db = new Sqlite(file)
  db.pragma("journal_mode = WAL")
  db.pragma("wal_autocheckpoint = 0")
  db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)")
  const insert = db.prepare("INSERT INTO t (v) VALUES (?)")
  for (let i = 0; i < rows; i++) insert.run(Buffer.alloc(4096, i % 256))
  return { file, db }
}

describe("the SQLite checkpointer", () => {
  it("copies committed WAL pages into the database file on its own, in the background", async () => {
    const { db, file } = walDatabase(500)
    const before = fs.statSync(file).size
    expect(fs.statSync(`${file}-wal`).size).toBeGreaterThan(500 * 4096)
    await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      yield* Checkpointer.start(file, 50)
      // no explicit checkpoint: the worker's timer does it
      for (let i = 0; i < 100 && fs.statSync(file).size < 500 * 4096; i++) yield* Effect.sleep("50 millis")
    })))
    expect(before).toBeLessThan(500 * 4096)
    expect(fs.statSync(file).size).toBeGreaterThan(500 * 4096)
    expect(db.prepare("SELECT count(*) AS n FROM t").get()).toEqual({ n: 500 })
    db.close()
  })

  it("checkpoints on request and reports every frame copied; the data stays readable", async () => {
    const { db, file } = walDatabase(50)
    const result = await Effect.runPromise(Effect.scoped(Effect.flatMap(Checkpointer.start(file, 60_000), (c) => c.checkpoint)))
    expect(result.busy).toBe(0)
    expect(result.log).toBeGreaterThan(0)
    expect(result.checkpointed).toBe(result.log)
    db.close()
    const reopened = new Sqlite(file, { readonly: true })
    expect(reopened.prepare("SELECT count(*) AS n FROM t").get()).toEqual({ n: 50 })
    reopened.close()
  })

  it("lets a busy writer's WAL start over, though the writer never checkpoints and never pauses for long", async () => {
    const { db, file } = walDatabase(0)
    const insert = db.prepare("INSERT INTO t (v) VALUES (?)")
    const page = Buffer.alloc(4096, 7)
    let largest = 0
    await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      yield* Checkpointer.start(file, 20)
      // ~8 MB of commits, one row (two WAL frames or more) each, 0.3 ms of other work apart, for about a second: as an
      // orchestrator's writer in a flow of quick tasks, always committing while the worker copies
      for (let i = 0; i < 2_000; i++) {
        insert.run(page)
        largest = Math.max(largest, fs.statSync(`${file}-wal`).size)
        for (const until = performance.now() + 0.3; performance.now() < until;);
      }
    })))
    // The log was written over from its start again and again: it never held more than a fraction of what was committed
    // (a writer left to checkpoint alone grows it past 25 MB here; with the worker it stays near 3 MB on a quiet machine
    // and under 5 MB on a loaded one, so half of the committed bytes is a bound with room for a slow CI host).
    expect(largest).toBeLessThan(2_000 * 2 * 4096 / 2)
    expect(db.prepare("SELECT count(*) AS n FROM t").get()).toEqual({ n: 2_000 })
    db.close()
  })

  it("stops with its scope after a last checkpoint", async () => {
    const { db, file } = walDatabase(200)
    const before = fs.statSync(file).size
    // the timer never fires in this test: only the closing checkpoint can copy the pages
    await Effect.runPromise(Effect.scoped(Checkpointer.start(file, 60_000)))
    expect(before).toBeLessThan(200 * 4096)
    expect(fs.statSync(file).size).toBeGreaterThan(200 * 4096)
    db.close()
  })

  it("starts its thread only after a delay, or at the first checkpoint asked for: a short-lived process never pays for it", async () => {
    const { db, file } = walDatabase(50)
    const [early, late, onDemand] = await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      const delayed = yield* Checkpointer.start(file, 60_000, 200)
      const early = delayed.started()
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 400)))
      const asked = yield* Checkpointer.start(file, 60_000, 60_000)
      const before = asked.started()
      const result = yield* asked.checkpoint
      return [early, delayed.started(), !before && asked.started() && result.checkpointed === result.log] as const
    })))
    expect({ early, late, onDemand }).toEqual({ early: false, late: true, onDemand: true })
    db.close()
  })
})
