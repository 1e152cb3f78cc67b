/**
 * An agent's executor process. Given a flow run id (`executor-entry <id>`), it runs that run and exits. Started without
 * one, it is a warm executor: it says it is listening, loads Orion and opens its services at once, then runs the flow
 * run whose id the agent sends over IPC (`{ run }`), so that the run starts without paying a cold Node start. It exits
 * if the agent goes away before sending one. Orion is imported dynamically: the listener is there before it loads.
 */

// Its stderr is a pipe to the agent: if the agent goes first, the run goes on and what would be written is dropped.
for (const stream of [process.stdout, process.stderr]) stream.on("error", () => undefined)

const execute = () => import("./execute.js")

const finish = async (id: string): Promise<never> => {
  // Held until the run has ended: without its agent (gone, IPC closed) the process must not count as idle.
  setInterval(() => undefined, 60_000)
  const { executeFlowRun, exitCodeOf } = await execute()
  const execution = await executeFlowRun(id)
  if (execution._tag === "NotRun") process.stderr.write(`${execution.reason}${execution.failed ? " The flow run was marked Failed." : ""}\n`)
  process.exit(exitCodeOf(execution))
}

/** Sends to the agent; a channel it has closed meanwhile is no error (that would crash a run already handed over). */
const tell = (message: object) => { if (process.connected) process.send?.(message, () => undefined) }

const given = process.argv[2]
if (given !== undefined) {
  await finish(given)
} else {
  let taken = false
  process.on("message", (message: unknown) => {
    const run = typeof message === "object" && message !== null ? (message as { readonly run?: unknown }).run : undefined
    if (taken || typeof run !== "string") return
    taken = true
    void finish(run)
  })
  // The agent went away before handing over a run: nothing to do here.
  process.on("disconnect", () => { if (!taken) process.exit(0) })
  tell({ listening: true })
  try {
    // What a flow module imports, and the services a run needs, loaded before any run is handed over.
    await import("../src/index.js")
    await (await execute()).warmUp()
    tell({ ready: true })
  } catch (e) {
    if (!taken) {
      process.stderr.write(`The warm executor could not start: ${e instanceof Error ? e.message : String(e)}\n`)
      process.exit(3)
    }
  }
}
