/**
 * The built dashboard at `/`: files under the UI directory, and `index.html` for every other path (client-side
 * routes). Paths are resolved inside the directory only, so `..` never escapes it; `/api/*` paths never get the page.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Effect } from "effect"
import * as path from "node:path"

const pathnameOf = (url: string): string | null => {
  try {
    return decodeURIComponent(new URL(url, "http://orion").pathname)
  } catch {
    return null
  }
}

/** Serves the UI in `root` (which holds `index.html`) for GET requests no API route took. */
export const uiRoutes = (root: string) =>
  HttpApiBuilder.Router.use((router) =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const base = path.resolve(root)
      const index = path.join(base, "index.html")
      const isFile = (file: string) =>
        fs.stat(file).pipe(Effect.map((info) => info.type === "File"), Effect.orElseSucceed(() => false))

      yield* router.get("*", Effect.gen(function*() {
        const request = yield* HttpServerRequest.HttpServerRequest
        const pathname = pathnameOf(request.url)
        if (pathname !== null && (pathname === "/api" || pathname.startsWith("/api/"))) {
          return HttpServerResponse.unsafeJson({ _tag: "RouteNotFound", detail: `Not Found: ${request.method} ${request.url}` }, { status: 404 })
        }
        const file = pathname === null ? null : path.resolve(base, `.${path.posix.normalize(pathname)}`)
        if (file !== null && file.startsWith(base + path.sep) && (yield* isFile(file))) {
          return yield* HttpServerResponse.file(file)
        }
        return yield* HttpServerResponse.file(index, { headers: { "cache-control": "no-cache" } })
      }))
    }))
