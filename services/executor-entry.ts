/**
 * An agent's executor process: it runs the flow runs the agent hands it over IPC (services/executor-protocol.ts), one
 * at a time, keeping Orion, its services and the flow modules it has imported loaded between them. Started with a flow
 * run id (`executor-entry <id>`, a cold start) it runs that one first; started without, it is a warm executor that
 * loads Orion, opens its services and imports the flow modules the agent names at once, so a run starts without paying
 * a cold Node start. After a run that
 * completed it waits for the next; after any other ending — failed, crashed, cancelled, not run, its flow module
 * changed on disk (stale) — or when told to retire or its agent goes away while it is idle, it closes its services and
 * exits. Orion is imported dynamically: the listener is there before it loads.
 */
import type { FromExecutor } from "./executor-protocol.js"

// Its stderr is a pipe to the agent: if the agent goes first, the run goes on and what would be written is dropped.
for (const stream of [process.stdout, process.stderr]) stream.on("error", () => undefined)

const loading = Promise.all([import("./execute.js"), import("./executor-protocol.js"), import("./flow-modules-loaded.js")])
// A failed import is answered where it is awaited; this keeps it from being an unhandled rejection meanwhile.
loading.catch(() => undefined)

/** Sends to the agent, resolving once it is written; a channel the agent has closed meanwhile is no error. */
const tell = (message: FromExecutor): Promise<void> =>
  new Promise((resolve) => {
    if (!process.connected || process.send === undefined) return resolve()
    try {
      process.send(message, () => resolve())
    } catch {
      resolve()
    }
  })

let busy = false
let used = false
let exiting = false
/** Orion loaded and its services open (a warm executor); a cold one loads them with its run. */
let warmed: Promise<void> = Promise.resolve()

/** Closes the services kept open between runs (logs shipped, database closed) and exits. */
const retire = async (code: number): Promise<never> => {
  exiting = true
  if (used) {
    const [{ closeServices }] = await loading
    await closeServices()
  }
  process.exit(code)
}

const runOne = async (id: string): Promise<void> => {
  busy = true
  used = true
  // Held until the run has ended: without its agent (gone, IPC closed) the process must not count as idle.
  const hold = setInterval(() => undefined, 60_000)
  const [{ executeFlowRun, exitCodeOf }, , { LoadedFlowModules }] = await loading
  modules ??= new LoadedFlowModules()
  const execution = await executeFlowRun(id, { reuse: { modules }, onAccepted: () => void tell({ _tag: "Accepted", id }) })
  clearInterval(hold)
  if (execution._tag === "Stale") {
    await tell({ _tag: "Stale", id, reason: execution.reason })
    return void await retire(exitCodeOf(execution))
  }
  if (execution._tag === "NotRun") process.stderr.write(`${execution.reason}${execution.failed ? " The flow run was marked Failed." : ""}\n`)
  // Only a run that completed leaves the process as it found it: after any other ending it is not trusted with another.
  const reusable = execution._tag === "Finished" && execution.state.type === "COMPLETED" && process.connected
  if (reusable) busy = false
  await tell({ _tag: "Ended", id, state: execution._tag === "Finished" ? execution.state.type : null, reusable, rss: process.memoryUsage().rss })
  if (!reusable) await retire(exitCodeOf(execution))
}
let modules: import("./flow-modules-loaded.js").LoadedFlowModules | undefined

/** Imports the flow modules the agent expects this executor to run, one after another, while it waits for a run. */
const preload = async (paths: ReadonlyArray<string>): Promise<void> => {
  await warmed
  const [{ preloadFlowModule }, , { LoadedFlowModules }] = await loading
  modules ??= new LoadedFlowModules()
  for (const file of paths) if (!exiting) await preloadFlowModule(file, modules)
}

process.on("message", (raw: unknown) => {
  void loading.then(([, protocol]) => {
    const message = protocol.toExecutor(raw)
    if (message === undefined || exiting) return
    if (message._tag === "Retire") {
      if (!busy) void retire(0)
    } else if (message._tag === "Preload") {
      if (!used) void preload(message.paths).catch(() => undefined)
    } else if (!busy) {
      void runOne(message.id)
    }
  }, () => undefined)
})
// The agent went away: an idle executor has nothing more to do (one running a run finishes it first).
process.on("disconnect", () => {
  if (!busy && !exiting) void retire(0)
})
void tell({ _tag: "Listening" })

const given = process.argv[2]
if (given !== undefined) {
  await runOne(given)
} else {
  try {
    // What a flow module imports, and the services a run needs, loaded before any run is handed over.
    warmed = (async () => {
      await import("../src/index.js")
      await (await loading)[0].warmUp()
    })()
    await warmed
    void tell({ _tag: "Ready" })
  } catch (e) {
    if (!used) {
      process.stderr.write(`The warm executor could not start: ${e instanceof Error ? e.message : String(e)}\n`)
      process.exit(3)
    }
  }
}
