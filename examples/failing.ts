/**
 * A failing task and the states that follow: `explode` throws, so its task run ends Failed; `publish`, which needs
 * its result, never runs (NotReady); `ok` completes; the flow run ends Failed, naming how many of its runs failed.
 * This is a demonstration: the script exits 0 after printing them. Run: npx tsx examples/failing.ts
 */
import { flow, getRunLogger, task } from "@orion-ts/orion"
import { report } from "./report.js"

const ok = task({ name: "ok" }, async () => "fine")

const explode = task({ name: "explode" }, async (): Promise<number> => {
  getRunLogger().warning("about to fail")
  throw new Error("the input file is corrupt")
})

const publish = task({ name: "publish" }, async (value: number) => `published ${value}`)

export const failing = flow({ name: "failing" }, async () => {
  await ok.submit()
  const value = await explode.submit()      // a future: the flow goes on
  await publish.submit(value)               // waits for `explode`, which fails: NotReady
  // Nothing returned: the flow run's state is made from the states of its task runs.
})

const state = await failing.run()
console.log(`final state: ${state.type} (${state.name})`)
await report(state)
