/** Handlers of `/api/flows` over the FlowRepository. */
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"
import { Flow } from "../../domain/flow.js"
import { flowNames } from "../../storage/names.js"
import { FlowRepository } from "../../storage/repositories/flows.js"
import { Orchestrator } from "../../../runtime/orchestrator.js"
import { OrionApi } from "../api.js"
import { createdOrFound, lift, liftRead } from "./respond.js"

export const FlowsLive = HttpApiBuilder.group(OrionApi, "flows", (handlers) =>
  Effect.gen(function*() {
    const flows = yield* FlowRepository
    const orchestrator = yield* Orchestrator
    const sqlContext = yield* Effect.context<SqlClient.SqlClient>()
    return handlers
      .handle("create", ({ payload }) => lift(Effect.flatMap(flows.create(payload), (u) => createdOrFound(Flow, u))))
      .handle("update", ({ path, payload }) => lift(flows.update(path.id, payload)))
      .handle("count", ({ payload }) => liftRead(flows.count(payload)))
      .handle("getByName", ({ path }) => liftRead(flows.getByName(path.name)))
      .handle("get", ({ path }) => liftRead(flows.get(path.id)))
      .handle("filter", ({ payload }) => liftRead(flows.filter(payload)))
      .handle("names", ({ payload }) => liftRead(Effect.provide(flowNames(payload), sqlContext)))
      // The flow's runs went with it: forget whatever the orchestrator remembers of them.
      .handle("delete", ({ path }) => lift(Effect.zipLeft(flows.delete(path.id), orchestrator.invalidate())))
  }))
