/** Every handler group of `OrionApi`, as the layer that implements it. */
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import { Layer } from "effect"
import { OrionApi } from "../api.js"
import { AdminLive } from "./admin.js"
import { DataLive } from "./data.js"
import { DeploymentsLive } from "./deployments.js"
import { EventsLive } from "./events.js"
import { FlowsLive } from "./flows.js"
import { FlowRunsLive, FlowRunStatesLive, TaskRunsLive, TaskRunStatesLive } from "./runs.js"
import { ConcurrencyLimitsLive, LogsLive, SavedSearchesLive } from "./small.js"

export const ApiLive = HttpApiBuilder.api(OrionApi).pipe(Layer.provide([
  FlowsLive, FlowRunsLive, TaskRunsLive, FlowRunStatesLive, TaskRunStatesLive, DeploymentsLive, SavedSearchesLive,
  DataLive, LogsLive, ConcurrencyLimitsLive, AdminLive, EventsLive
]))
