/**
 * Cancelling a long-running flow run from outside: a flow that would take an hour — batches of work and a subflow —
 * is cancelled after a few seconds by `orion flow-run cancel`, run as a separate process, as you would from a terminal.
 * This process notices within a second, interrupts the task runs and the subflow, and everything ends Cancelled.
 * Run: npx tsx examples/cancel.ts
 */
import { execFile } from "node:child_process"
import { fileURLToPath } from "node:url"
import { flow, getRunLogger, runContext, task } from "@orion-ts/orion"
import { report } from "./report.js"

/** Waits `ms`, or stops early with the run's AbortSignal (the run was cancelled or timed out). */
const pause = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms)
    signal.addEventListener("abort", () => {
      clearTimeout(timer)
      reject(signal.reason)
    }, { once: true })
  })

const processBatch = task({ name: "process-batch" }, async (batch: number) => {
  getRunLogger().info(`batch ${batch}: about ten minutes of work`)
  await pause(10 * 60_000, runContext().signal)
  return batch
})

const archive = flow({ name: "archive" }, async () => {
  await processBatch(99)
})

let started: (flowRunId: string) => void
const flowRunId = new Promise<string>((resolve) => (started = resolve))

const longRunning = flow({ name: "long-running" }, async () => {
  const ctx = runContext()
  if (ctx._tag === "FlowRun") started(ctx.flowRunId)
  await Promise.all([processBatch.map([1, 2, 3]), archive()])
})

// Started, not awaited yet (a run starts when it is awaited or `.then`-ed).
const running = longRunning.run().then((state) => state)

// Elsewhere — another terminal, a script, the dashboard's Cancel button: `orion flow-run cancel <id> --wait`.
const id = await flowRunId
await new Promise((resolve) => setTimeout(resolve, 3000))
const orion = fileURLToPath(new URL("../bin/orion.js", import.meta.url))
const cancelled = await new Promise<string>((resolve, reject) =>
  execFile(process.execPath, [orion, "flow-run", "cancel", id, "--wait"], (error, stdout, stderr) =>
    error === null ? resolve(stdout) : reject(new Error(`orion flow-run cancel failed: ${stderr || error.message}`))))
console.log(`$ orion flow-run cancel ${id} --wait\n${cancelled}`)

await report(await running)
