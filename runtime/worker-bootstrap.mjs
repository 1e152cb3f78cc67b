// Starts a worker thread of the parallel() task runner. Node 20 does not carry the parent's tsx loader into worker
// threads, so this plain-JS entry registers tsx in the thread (when Orion runs from TypeScript), then loads the worker.
import { workerData } from "node:worker_threads"

if (workerData.typescript) (await import("tsx/esm/api")).register()
await import(workerData.entry)
