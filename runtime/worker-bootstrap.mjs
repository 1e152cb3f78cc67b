// Starts a worker thread of the parallel() task runner. Node 20 does not carry the parent's tsx loader into worker
// threads, so this plain-JS entry registers tsx in the thread (when Orion or the user's script runs from TypeScript),
// then loads the worker.
import { workerData } from "node:worker_threads"

if (workerData.typescript) {
  const tsx = await import("tsx/esm/api").catch((cause) => {
    throw new Error("Orion's parallel() workers load TypeScript task modules through tsx, which is not installed: npm install --save-dev tsx", { cause })
  })
  tsx.register()
}
await import(workerData.entry)
