/**
 * The built dashboard at `/`: files under the UI directory, and `index.html` for every other path (client-side
 * routes). Paths are resolved inside the directory only, so `..` never escapes it; `/api/*` paths never get the page.
 * Files under `assets/` have their content's hash in their name, so browsers may keep them for good; `index.html` is
 * checked every time. Files go gzip- or brotli-compressed to a browser that accepts it.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Effect } from "effect"
import * as path from "node:path"
import { chooseEncoding, compressedFiles, contentTypeOf } from "./static-compression.js"

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
      const compressed = compressedFiles()
      const assets = path.join(base, "assets") + path.sep
      /** The file, compressed when the browser accepts it; a hashed asset cached for a year, anything else revalidated. */
      const send = (file: string, request: HttpServerRequest.HttpServerRequest) =>
        Effect.gen(function*() {
          const caching = { "cache-control": file.startsWith(assets) ? "public, max-age=31536000, immutable" : "no-cache", vary: "accept-encoding" }
          const encoding = chooseEncoding(request.headers["accept-encoding"])
          const packed = encoding === null ? null : yield* Effect.promise(() => compressed(file, encoding).catch(() => null))
          if (packed === null || encoding === null) return yield* HttpServerResponse.file(file, { headers: caching })
          return HttpServerResponse.uint8Array(packed, {
            contentType: contentTypeOf(file),
            headers: { ...caching, "content-encoding": encoding }
          })
        })
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
          return yield* send(file, request)
        }
        return yield* send(index, request)
      }))
    }))
