/** `orion deployment …`: the command group; `create` lives in deployment-create.ts, the daily commands in deployments.ts. */
import * as Command from "@effect/cli/Command"
import { deploymentCreate } from "./deployment-create.js"
import { deploymentSubcommands, deploymentWords as dailyWords } from "./deployments.js"

export const deployment = Command.make("deployment").pipe(
  Command.withSubcommands([deploymentCreate, ...deploymentSubcommands]),
  Command.withDescription("Deployments: flows with default parameters, a schedule and a work queue, run by agents: create, ls, inspect, run, pause, resume, delete"))

/** Every command word of the group, for usage lines (cli/output.ts). */
export const deploymentWords = ["create", ...dailyWords] as const
