/**
 * Subflows: a flow called inside a flow is a flow run of its own, linked to its parent through a task run that stands
 * for it. Here an Effect flow calls a subflow twice and an async subflow once. Run: npx tsx examples/subflows.ts
 */
import { Effect } from "effect"
import { flow, task } from "@orion-ts/orion"
import { report } from "./report.js"

const download = task({ name: "download" }, (url: string) => Effect.succeed(`<contents of ${url}>`))
const count = task({ name: "count" }, async (text: string) => text.length)

const fetchPage = flow({ name: "fetch-page" }, ({ url }: { url: string }) =>
  Effect.flatMap(download(url), (text) => count(text)))

const summarize = flow({ name: "summarize" }, async ({ sizes }: { sizes: ReadonlyArray<number> }) =>
  sizes.reduce((a, b) => a + b, 0))

export const crawl = flow({ name: "subflows" }, () =>
  Effect.gen(function*() {
    const a = yield* fetchPage({ url: "https://example.org/a" })   // subflow run 1
    const b = yield* fetchPage({ url: "https://example.org/b" })   // subflow run 2
    const total = yield* summarize({ sizes: [a, b] })              // an async subflow
    yield* Effect.log(`${total} characters in all`)
    return total
  }))

const state = await crawl.run()
await report(state)
