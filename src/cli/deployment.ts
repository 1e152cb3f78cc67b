/** `orion deployment …`: the command group; each subcommand lives in a module of its own (`deployment-*.ts`). */
import * as Command from "@effect/cli/Command"
import { deploymentCreate } from "./deployment-create.js"

export const deployment = Command.make("deployment").pipe(
  Command.withSubcommands([deploymentCreate]),
  Command.withDescription("Deployments: flows with default parameters, a schedule and a work queue, run by agents"))

/** Every command word of the group, for usage lines (cli/output.ts). */
export const deploymentWords = ["deployment", "create"] as const
