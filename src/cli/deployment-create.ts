/**
 * `orion deployment create <file>`: imports a module (TypeScript too), finds the deployments it exports (`deployment()`)
 * and registers each with the flow's location — the module's absolute path and the flow's export — so any agent can
 * load it. Idempotent: creating again updates them.
 */
import { Args, Options } from "@effect/cli"
import * as Command from "@effect/cli/Command"
import { Console, Effect } from "effect"
import * as path from "node:path"
import type { Deployment, DeploymentCreate } from "../domain/deployment.js"
import { type DeploymentDefinition, isDeploymentDefinition } from "../sdk/deployment.js"
import { importModule, unloadable } from "../sdk/load-module.js"
import { CliFailure, printJson } from "./output.js"
import { withApi } from "./common.js"

/** A deployment to register: its definition and where its flow is exported. */
interface Found {
  readonly definition: DeploymentDefinition
  readonly flowExport: string
}

const describeError = (e: unknown) => e instanceof Error ? e.message : String(e)

/** The deployments a module exports (directly, or in an exported array), each once. */
const deploymentsIn = (exports: Record<string, unknown>): Array<DeploymentDefinition> => {
  const found = new Set<DeploymentDefinition>()
  for (const value of Object.values(exports)) {
    for (const item of Array.isArray(value) ? value : [value]) if (isDeploymentDefinition(item)) found.add(item)
  }
  return [...found]
}

/** Where each deployment's flow is exported; fails naming a flow the module does not export, or a name given twice. */
const locate = (file: string, exports: Record<string, unknown>, definitions: ReadonlyArray<DeploymentDefinition>) =>
  Effect.gen(function*() {
    if (definitions.length === 0) {
      return yield* new CliFailure({ message: `${file} exports no deployments: export what deployment({ flow, name, … }) returns` })
    }
    const seen = new Set<string>()
    const found: Array<Found> = []
    for (const definition of definitions) {
      const address = `${definition.flowName}/${definition.name}`
      if (seen.has(address)) return yield* new CliFailure({ message: `${file} defines deployment '${address}' twice: give each deployment of a flow its own name` })
      seen.add(address)
      const names = Object.keys(exports).filter((k) => exports[k] === definition.flow)
      const flowExport = names.find((k) => k !== "default") ?? names[0]
      if (flowExport === undefined) {
        return yield* new CliFailure({
          message: `Deployment '${address}': its flow '${definition.flowName}' is not exported by ${file}, so no agent could load it: export it (export const ${safeIdentifier(definition.flowName)} = flow(…))`
        })
      }
      found.push({ definition, flowExport })
    }
    return found
  })

const safeIdentifier = (name: string) => name.replace(/[^A-Za-z0-9_$]+(.)?/g, (_, c: string | undefined) => (c ?? "").toUpperCase()).replace(/^[^A-Za-z_$]/, "_$&") || "myFlow"

const describeSchedule = (d: DeploymentDefinition) => {
  const s = d.schedule as Record<string, unknown> | null
  if (s === null) return "no schedule"
  const zone = typeof s.timezone === "string" ? ` (${s.timezone})` : ""
  const base = "interval" in s ? `every ${s.interval}s` : "cron" in s ? `cron '${s.cron}'` : `rrule '${s.rrule}'`
  return `${base}${zone}${d.scheduleActive ? "" : ", paused"}`
}

const file = Args.text({ name: "file" }).pipe(Args.withDescription("A module (.ts, .mts, .js, .mjs …) that exports deployments and their flows"))
const json = Options.boolean("json").pipe(Options.withDescription("Print the registered deployments as JSON"))

export const deploymentCreate = Command.make("create", { file, json }, (o) =>
  Effect.gen(function*() {
    const absolute = path.resolve(o.file)
    const why = unloadable(absolute)
    if (why !== undefined) return yield* new CliFailure({ message: `Cannot load deployments: ${why}` })
    const exports = yield* Effect.tryPromise({
      try: () => importModule(absolute),
      catch: (e) => new CliFailure({ message: `Could not load ${o.file}: ${describeError(e)}` })
    })
    const found = yield* locate(o.file, exports, deploymentsIn(exports))
    yield* withApi((client) =>
      Effect.gen(function*() {
        const registered: Array<Deployment> = []
        for (const { definition: d, flowExport } of found) {
          const flow = yield* client.flows.create({ payload: { name: d.flowName, tags: [...(d.flow.options.tags ?? [])] } })
          const payload: DeploymentCreate = {
            name: d.name, flow_id: flow.id,
            flow_data: { encoding: "file", blob: absolute },
            schedule: d.schedule,
            is_schedule_active: d.scheduleActive,
            parameters: d.parameters, tags: d.tags,
            flow_path: absolute, flow_export: flowExport, work_queue: d.workQueue,
            empirical_policy: d.policy, catchup_seconds: d.catchupSeconds, overlap: d.overlap
          }
          const [deployment, response] = yield* client.deployments.create({ payload, withResponse: true })
          registered.push(deployment)
          if (!o.json) {
            yield* Console.log(`${response.status === 201 ? "Created" : "Updated"} deployment '${d.flowName}/${d.name}' (${deployment.id}): ` +
              `flow ${flowExport} of ${absolute}, queue '${d.workQueue}', ${describeSchedule(d)}`)
          }
        }
        if (o.json) yield* printJson(registered)
      }))
  })).pipe(Command.withDescription("Register the deployments a flow module exports (again: update them), with where agents load their flow"))
