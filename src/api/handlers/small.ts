/** Handlers of `/api/saved_searches`, `/api/logs` and `/api/concurrency_limits`: thin layers over their repositories. */
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import { Effect } from "effect"
import { ConcurrencyLimit } from "../../domain/concurrency-limit.js"
import { SavedSearch } from "../../domain/saved-search.js"
import { ConcurrencyLimitRepository } from "../../storage/repositories/concurrency-limits.js"
import { LogRepository } from "../../storage/repositories/logs.js"
import { SavedSearchRepository } from "../../storage/repositories/saved-searches.js"
import { OrionApi } from "../api.js"
import { createdOrFound, lift, liftRead } from "./respond.js"

export const SavedSearchesLive = HttpApiBuilder.group(OrionApi, "saved_searches", (handlers) =>
  Effect.map(SavedSearchRepository, (searches) =>
    handlers
      .handle("create", ({ payload }) => lift(Effect.flatMap(searches.upsert(payload), (u) => createdOrFound(SavedSearch, u))))
      .handle("get", ({ path }) => liftRead(searches.get(path.id)))
      .handle("filter", ({ payload }) => liftRead(searches.filter(payload)))
      .handle("delete", ({ path }) => lift(searches.delete(path.id)))))

export const LogsLive = HttpApiBuilder.group(OrionApi, "logs", (handlers) =>
  Effect.map(LogRepository, (logs) =>
    handlers
      .handle("create", ({ payload }) => lift(Effect.asVoid(logs.createMany(payload))))
      .handle("filter", ({ payload }) => liftRead(logs.filter(payload)))))

export const ConcurrencyLimitsLive = HttpApiBuilder.group(OrionApi, "concurrency_limits", (handlers) =>
  Effect.map(ConcurrencyLimitRepository, (limits) =>
    handlers
      .handle("create", ({ payload }) => lift(Effect.flatMap(limits.upsert(payload), (u) => createdOrFound(ConcurrencyLimit, u))))
      .handle("get", ({ path }) => liftRead(limits.get(path.id)))
      .handle("getByTag", ({ path }) => liftRead(limits.getByTag(path.tag)))
      .handle("filter", ({ payload }) => liftRead(limits.filter(payload)))
      .handle("delete", ({ path }) => lift(limits.delete(path.id)))
      .handle("deleteByTag", ({ path }) => lift(limits.deleteByTag(path.tag)))))
