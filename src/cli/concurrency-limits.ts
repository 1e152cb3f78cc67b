/**
 * `orion concurrency-limit create <tag> <limit> | ls | inspect <tag> | delete <tag>`: tag concurrency limits — at most
 * N task runs carrying a tag are Running at once (spec §11) — over the `/api/concurrency_limits` routes.
 */
import { Args, HelpDoc } from "@effect/cli"
import * as Command from "@effect/cli/Command"
import { Console, Effect } from "effect"
import type { OrionApiClient } from "../client/typed.js"
import type { ConcurrencyLimit } from "../domain/concurrency-limit.js"
import { MAX_KEY_LENGTH } from "../domain/primitives.js"
import type { TaskRun } from "../domain/runs.js"
import { CliFailure, printJson, table } from "./output.js"
import { iso, json, stateLabel, withApi } from "./common.js"

const MAX_LIMIT = 2 ** 31 - 1

const tagArg = Args.text({ name: "tag" }).pipe(
  Args.withDescription("The tag the limit applies to"),
  Args.mapEffect((tag) => tag.trim() === ""
    ? Effect.fail(HelpDoc.p("The tag must not be empty"))
    : tag.length > MAX_KEY_LENGTH
    ? Effect.fail(HelpDoc.p(`The tag must be at most ${MAX_KEY_LENGTH} characters, got ${tag.length}`))
    : Effect.succeed(tag)))

const limitArg = Args.text({ name: "limit" }).pipe(
  Args.withDescription("How many task runs with the tag may be Running at once (0: none may run; they are aborted)"),
  Args.mapEffect((text) => {
    const n = Number(text.trim())
    return /^\d+$/.test(text.trim()) && n <= MAX_LIMIT
      ? Effect.succeed(n)
      : Effect.fail(HelpDoc.p(`The limit must be a whole number from 0 to ${MAX_LIMIT}, got '${text}'`))
  }))

const byTag = (client: OrionApiClient, tag: string) =>
  client.concurrency_limits.getByTag({ path: { tag } }).pipe(
    Effect.catchTag("ObjectNotFound", () => Effect.fail(new CliFailure({ message: `No concurrency limit on tag '${tag}'` }))))

const slots = (l: ConcurrencyLimit) => `${l.active_slots.length}/${l.concurrency_limit}`

const create = Command.make("create", { tag: tagArg, limit: limitArg, json }, (o) =>
  withApi((client) => Effect.gen(function*() {
    const before = yield* Effect.option(client.concurrency_limits.getByTag({ path: { tag: o.tag } }))
    const limit = yield* client.concurrency_limits.create({ payload: { tag: o.tag, concurrency_limit: o.limit } })
    if (o.json) return yield* printJson(limit)
    const what = o.limit === 0
      ? `no task run tagged '${o.tag}' may run (they are aborted)`
      : `at most ${o.limit} task run${o.limit === 1 ? "" : "s"} tagged '${o.tag}' may run at once`
    yield* Console.log(before._tag === "Some"
      ? `Changed the concurrency limit on tag '${o.tag}' from ${before.value.concurrency_limit} to ${o.limit}: ${what} (${limit.active_slots.length} running now).`
      : `Created a concurrency limit on tag '${o.tag}' (${limit.id}): ${what}.`)
  }))).pipe(Command.withDescription("Limit how many task runs with a tag run at once (changes the limit if the tag has one)"))

const ls = Command.make("ls", { json }, (o) =>
  withApi((client) => Effect.gen(function*() {
    const all: Array<ConcurrencyLimit> = []
    for (let offset = 0; ; offset += 200) {
      const page = yield* client.concurrency_limits.filter({ payload: { limit: 200, offset } })
      all.push(...page)
      if (page.length < 200) break
    }
    if (o.json) return yield* printJson(all)
    if (all.length === 0) return yield* Console.log("No concurrency limits.")
    yield* Console.log(table(["TAG", "LIMIT", "RUNNING", "ID", "UPDATED"], all.map((l) => [l.tag, String(l.concurrency_limit), slots(l), l.id, iso(l.updated)])))
  }))).pipe(Command.withDescription("List the tag concurrency limits, with how many of their slots are taken"))

const inspect = Command.make("inspect", { tag: tagArg, json }, (o) =>
  withApi((client) => Effect.gen(function*() {
    const limit = yield* byTag(client, o.tag)
    const running: ReadonlyArray<TaskRun> = limit.active_slots.length === 0 ? [] : yield* client.task_runs.filter({
      payload: { task_runs: { id: { any_: [...limit.active_slots] } }, sort: "EXPECTED_START_TIME_ASC", limit: 200, offset: 0 }
    })
    if (o.json) return yield* printJson({ concurrency_limit: limit, running_task_runs: running })
    yield* Console.log([
      `Concurrency limit on tag '${limit.tag}'`,
      `  id        ${limit.id}`,
      `  limit     ${limit.concurrency_limit}${limit.concurrency_limit === 0 ? " (task runs with this tag are aborted)" : ""}`,
      `  running   ${slots(limit)}`,
      `  created   ${iso(limit.created)}`,
      `  updated   ${iso(limit.updated)}`,
      "",
      limit.active_slots.length === 0 ? "No task runs hold its slots." : `Task runs holding its slots (${limit.active_slots.length}):`,
      ...(limit.active_slots.length === 0 ? [] : [table(["TASK RUN", "ID", "FLOW RUN", "STATE"], limit.active_slots.map((id) => {
        const run = running.find((r) => r.id === id)
        return run === undefined ? ["(deleted)", id, "", ""] : [run.name, run.id, run.flow_run_id, stateLabel(run.state_type, run.state_name)]
      }))])
    ].join("\n"))
  }))).pipe(Command.withDescription("Show a tag's concurrency limit and the task runs holding its slots"))

const remove = Command.make("delete", { tag: tagArg }, (o) =>
  withApi((client) => Effect.gen(function*() {
    yield* client.concurrency_limits.deleteByTag({ path: { tag: o.tag } }).pipe(
      Effect.catchTag("ObjectNotFound", () => Effect.fail(new CliFailure({ message: `No concurrency limit on tag '${o.tag}'` }))))
    yield* Console.log(`Deleted the concurrency limit on tag '${o.tag}': task runs with this tag are no longer limited.`)
  }))).pipe(Command.withDescription("Delete a tag's concurrency limit"))

export const concurrencyLimit = Command.make("concurrency-limit").pipe(
  Command.withSubcommands([create, ls, inspect, remove]),
  Command.withDescription("Tag concurrency limits: at most N task runs with a tag run at once"))

/** The command words of this module, for usage lines (cli/output.ts). */
export const concurrencyLimitWords = ["concurrency-limit", "create", "ls", "inspect", "delete"] as const
