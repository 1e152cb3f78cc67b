/**
 * A second process for cross-process tests: opens the database at argv[2], prints "ready", waits for a line on
 * stdin, then proposes Running `argv[4]` times at once on flow run argv[3] and prints the statuses as JSON.
 */
import { Effect, Layer } from "effect"
import * as readline from "node:readline"
import { States, type Uuid } from "../../src/domain/index.js"
import * as Database from "../../src/storage/database.js"
import { EventBus } from "../../runtime/event-bus.js"
import * as Orch from "../../runtime/orchestrator.js"

const [url, runId, count] = process.argv.slice(2)
const go = new Promise<void>((resolve) => readline.createInterface({ input: process.stdin }).once("line", () => resolve()))

const program = Effect.gen(function*() {
  const o = yield* Orch.Orchestrator
  console.log("ready")
  yield* Effect.promise(() => go)
  const results = yield* Effect.forEach(Array.from({ length: Number(count) }), () =>
    o.propose({ kind: "flow_run", id: runId as Uuid }, States.Running()), { concurrency: "unbounded" })
  console.log(JSON.stringify(results.map((r) => r.status)))
}).pipe(Effect.provide(Orch.layer().pipe(Layer.provideMerge(EventBus.layer), Layer.provideMerge(Database.layerFromUrl(url!)))))

Effect.runPromise(program).then(() => process.exit(0), (e) => { console.error(String(e)); process.exit(1) })
