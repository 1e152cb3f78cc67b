/** The built UI's files over real HTTP: compressed for a browser that accepts it, hashed assets cached for good, the page revalidated. */
import { describe, expect, it, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import * as zlib from "node:zlib"
import { chooseEncoding } from "../../src/api/static-compression.js"
import { databases, tempDir } from "../support/databases.js"
import { apiServer, baseUrl } from "./harness.js"

const script = `export const rows = [${Array.from({ length: 2000 }, (_, i) => `"row-${i}"`).join(",")}]\n`
const page = `<!doctype html><html><head><script type="module" src="/assets/app-abc123.js"></script></head><body><div id="root"></div></body></html>`

const makeUi = () => {
  const dir = tempDir("orion-ui-")
  fs.mkdirSync(path.join(dir, "assets"))
  fs.writeFileSync(path.join(dir, "index.html"), page)
  fs.writeFileSync(path.join(dir, "assets", "app-abc123.js"), script)
  fs.writeFileSync(path.join(dir, "assets", "tiny-1.css"), "body{}")
  return dir
}

/** A raw GET (Node's fetch would undo the compression): status, headers and the bytes as sent. */
const get = (pathname: string, acceptEncoding?: string) =>
  Effect.flatMap(baseUrl, (base) =>
    Effect.promise(async () => {
      const { request } = await import("node:http")
      return new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }>((resolve, reject) => {
        const req = request(`${base}${pathname}`, { headers: acceptEncoding === undefined ? {} : { "accept-encoding": acceptEncoding } }, (res) => {
          const chunks: Array<Buffer> = []
          res.on("data", (c: Buffer) => chunks.push(c))
          res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }))
        })
        req.on("error", reject)
        req.end()
      })
    }))

describe("choosing an encoding from Accept-Encoding", () => {
  it("prefers brotli, then gzip; q=0 refuses one; nothing acceptable means none", () => {
    expect(chooseEncoding("gzip, deflate, br")).toBe("br")
    expect(chooseEncoding("gzip")).toBe("gzip")
    expect(chooseEncoding("br;q=0, gzip;q=0.5")).toBe("gzip")
    expect(chooseEncoding("identity")).toBeNull()
    expect(chooseEncoding(undefined)).toBeNull()
    expect(chooseEncoding("*")).toBe("br")
    expect(chooseEncoding("*, br;q=0")).toBe("gzip")
  })
})

describe.each(databases.filter((d) => d.name === "sqlite"))("the UI's files on $name", (db) => {
  layer(apiServer(db, { uiDir: makeUi() }), { excludeTestServices: true })((it) => {
    it.effect("a hashed asset is sent brotli- or gzip-compressed as accepted, identical once decompressed, and cached for a year", () =>
      Effect.gen(function*() {
        const br = yield* get("/assets/app-abc123.js", "gzip, deflate, br")
        expect(br.status).toBe(200)
        expect(br.headers["content-encoding"]).toBe("br")
        expect(br.headers["content-type"]).toContain("javascript")
        expect(br.headers["cache-control"]).toBe("public, max-age=31536000, immutable")
        expect(br.headers["vary"]).toContain("accept-encoding")
        expect(br.body.length).toBeLessThan(script.length / 3)
        expect(zlib.brotliDecompressSync(br.body).toString()).toBe(script)

        const gz = yield* get("/assets/app-abc123.js", "gzip")
        expect(gz.headers["content-encoding"]).toBe("gzip")
        expect(zlib.gunzipSync(gz.body).toString()).toBe(script)

        const plain = yield* get("/assets/app-abc123.js")
        expect(plain.headers["content-encoding"]).toBeUndefined()
        expect(plain.body.toString()).toBe(script)
        expect(plain.headers["cache-control"]).toBe("public, max-age=31536000, immutable")
      }))

    it.effect("the page (and a client-side route) is revalidated every time; a tiny file is sent as it is", () =>
      Effect.gen(function*() {
        for (const route of ["/", "/flow-runs"]) {
          const reply = yield* get(route, "gzip")
          expect(reply.status).toBe(200)
          expect(reply.headers["cache-control"]).toBe("no-cache")
          expect(reply.headers["content-type"]).toContain("text/html")
          const text = reply.headers["content-encoding"] === "gzip" ? zlib.gunzipSync(reply.body).toString() : reply.body.toString()
          expect(text).toBe(page)
        }
        const tiny = yield* get("/assets/tiny-1.css", "br")
        expect(tiny.headers["content-encoding"]).toBeUndefined()
        expect(tiny.body.toString()).toBe("body{}")
        // an unknown API path is still a JSON 404, never the page
        const api = yield* get("/api/nothing-here", "gzip")
        expect(api.status).toBe(404)
      }))
  })
})
