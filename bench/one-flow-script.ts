/**
 * A user's script as a cron job or an agent's executor runs it: import Orion, run one one-task flow, exit.
 * bench:tasks times it from `node` start to exit on an existing database, compiled and under tsx.
 */
import { flow, task } from "../src/index.js"

const double = task({ name: "double" }, async (x: number) => x * 2)
const oneTaskFlow = flow({ name: "script-flow" }, async ({ x }: { x: number }) => double(x))

const result = await oneTaskFlow({ x: 21 })
if (result !== 42) {
  console.error(`the script's flow returned ${result}`)
  process.exitCode = 1
}
