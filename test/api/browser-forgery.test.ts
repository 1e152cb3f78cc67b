/**
 * Cross-site request forgery and cross-origin reads, in real Chromium: a web page on another origin (another port of
 * 127.0.0.1, or `localhost`) must neither change nor read anything through a locally running Orion API. Its weapons
 * are the requests a browser sends without asking the server first — `no-cors` fetches with a "simple" content type
 * (text/plain, none, form-urlencoded) and auto-submitted `text/plain` forms whose body is JSON — plus CORS reads,
 * `EventSource`, and a DNS-rebinding page (a foreign host name that resolves to 127.0.0.1, on the API's own port).
 * Every verdict is read through the API from the test itself (no Origin header): the data is still there, nothing
 * was created or changed, and what the page read was an error or opaque. Controls: an origin in the CORS list, and
 * the UI served by the Orion server itself, keep working.
 */
import { describe, expect, layer } from "@effect/vitest"
import { Context, Effect, Either, Layer } from "effect"
import type { Scope } from "effect"
import * as fs from "node:fs"
import * as http from "node:http"
import * as path from "node:path"
import { type Browser, type BrowserContext, chromium, type Page, type Request as PwRequest } from "playwright-core"
import { databases, tempDir } from "../support/databases.js"
import { apiServer, baseUrl, call, expectStatus, unique } from "./harness.js"

const sqlite = databases.find((db) => db.name === "sqlite")!

/** Installed by `scripts/test.sh` (Debian's `chromium`); a missing binary fails these tests, it never skips them. */
const chromiumPath = process.env.ORION_TEST_CHROMIUM ?? "/usr/bin/chromium"

/** A host name Chromium resolves to 127.0.0.1 (as a DNS-rebinding attacker's name would be after the rebind). */
const REBIND_HOST = "rebind.orion.test"

/** The browser, or why there is none (then every test that needs it fails with that message, none is skipped). */
class Chromium extends Context.Tag("test/Chromium")<Chromium, Either.Either<Browser, string>>() {}

const ChromiumLive = Layer.scoped(Chromium, Effect.suspend((): Effect.Effect<Either.Either<Browser, string>, never, Scope.Scope> =>
  fs.existsSync(chromiumPath)
    ? Effect.map(
      Effect.acquireRelease(
        Effect.promise(() =>
          chromium.launch({
            executablePath: chromiumPath,
            headless: true,
            args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
              "--disable-sync", "--no-first-run", "--disable-quic", `--host-resolver-rules=MAP ${REBIND_HOST} 127.0.0.1`]
          })),
        (browser) => Effect.promise(() => browser.close())
      ),
      (browser) => Either.right(browser)
    )
    : Effect.succeed(Either.left(`Chromium not found at ${chromiumPath}: install Debian's chromium (scripts/test.sh does) ` +
      `or point ORION_TEST_CHROMIUM at a Chromium binary`))))

// --- the attacker's web server: a plain node:http server on another port ---------------------------------------

/**
 * The attacker's page. Its script only uses what any web page may: `fetch` (CORS or no-cors) and `EventSource`.
 * `attack.send` answers what the page could see of the response (for no-cors: an opaque response, status 0, no body).
 */
const attackerPage = `<!doctype html><meta charset="utf-8"><title>totally harmless</title><body><h1>cat pictures</h1><script>
window.attack = {
  async send(s) {
    try {
      const init = { method: s.method, mode: s.mode };
      if (s.headers) init.headers = s.headers;
      if (s.body !== undefined) init.body = s.untyped ? new Blob([s.body]) : s.body;
      const r = await fetch(s.url, init);
      let text;
      try { text = await r.text() } catch (e) { text = "unreadable: " + e }
      return { outcome: "response", type: r.type, status: r.status, text, allowOrigin: r.headers.get("access-control-allow-origin") };
    } catch (e) {
      return { outcome: "error", error: String(e) };
    }
  },
  listen(url, ms) {
    return new Promise((resolve) => {
      const es = new EventSource(url);
      const events = [];
      let opened = false, done = false;
      const finish = (errored) => {
        if (done) return;
        done = true;
        const readyState = es.readyState;
        es.close();
        resolve({ opened, errored, readyState, events });
      };
      es.onopen = () => { opened = true };
      const got = (type) => (e) => { events.push({ type, data: e.data }); setTimeout(() => finish(false), 200) };
      es.onmessage = got("message");
      for (const type of ["hello", "resync", "flow.created", "flow_run.created", "flow_run.state"]) es.addEventListener(type, got(type));
      es.onerror = () => finish(true);
      setTimeout(() => finish(false), ms);
    });
  }
};
</script>`

const escapeHtml = (s: string) => s.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;").replace(/>/g, "&gt;")

/** A page that POSTs a `text/plain` form to `action` as soon as it loads: the body is `name=value\r\n`. */
const formPage = (action: string, name: string, value: string) =>
  `<!doctype html><meta charset="utf-8"><title>loading…</title>` +
  `<form method="post" enctype="text/plain" action="${escapeHtml(action)}">` +
  `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}"></form>` +
  `<script>document.forms[0].submit()</script>`

class Attacker extends Context.Tag("test/Attacker")<Attacker, {
  readonly port: number
  /** The attacker's origin under a host name: `http://127.0.0.1:<port>` or `http://localhost:<port>`. */
  readonly origin: (host?: "127.0.0.1" | "localhost") => string
}>() {}

const AttackerLive = Layer.scoped(Attacker, Effect.map(
  Effect.acquireRelease(
    Effect.async<http.Server>((resume) => {
      const server = http.createServer((request, response) => {
        const url = new URL(request.url ?? "/", "http://attacker")
        const html = url.pathname === "/form"
          ? formPage(url.searchParams.get("action") ?? "", url.searchParams.get("name") ?? "", url.searchParams.get("value") ?? "")
          : attackerPage
        response.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" }).end(html)
      })
      server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
    }),
    (server) => Effect.async<void>((resume) => {
      server.closeAllConnections()
      server.close(() => resume(Effect.void))
    })
  ),
  (server) => {
    const address = server.address()
    if (address === null || typeof address === "string") throw new Error("expected a TCP address")
    return { port: address.port, origin: (host = "127.0.0.1") => `http://${host}:${address.port}` }
  }
))

// --- browser helpers -------------------------------------------------------------------------------------------

/** A fresh browser context (no shared cookies or cache), closed with the test's scope. */
const newContext: Effect.Effect<BrowserContext, never, Chromium | Scope.Scope> = Effect.flatMap(Chromium, (browser) =>
  Either.isLeft(browser)
    ? Effect.dieMessage(browser.left)
    : Effect.acquireRelease(Effect.promise(() => browser.right.newContext()), (context) => Effect.promise(() => context.close())))

/** A page of a fresh context, at `url`. */
const openPage = (url: string) =>
  Effect.gen(function*() {
    const context = yield* newContext
    const page = yield* Effect.promise(() => context.newPage())
    const response = yield* Effect.promise(() => page.goto(url))
    return { context, page, status: response?.status() ?? 0 }
  })

interface Attempt {
  readonly url: string
  readonly method: "GET" | "POST"
  readonly mode: "cors" | "no-cors"
  readonly headers?: Record<string, string>
  readonly body?: string
  /** Send the body as a Blob without a type: no Content-Type header at all. */
  readonly untyped?: boolean
}

type Seen =
  | { readonly outcome: "response"; readonly type: string; readonly status: number; readonly text: string; readonly allowOrigin: string | null }
  | { readonly outcome: "error"; readonly error: string }

/** Runs `attack.send` in the page: what the page could observe of the response. */
const send = (page: Page, attempt: Attempt) =>
  Effect.promise(() => page.evaluate((a) => (window as any).attack.send(a) as Promise<Seen>, attempt))

interface Listened {
  readonly opened: boolean
  readonly errored: boolean
  readonly readyState: number
  readonly events: ReadonlyArray<{ readonly type: string; readonly data: string }>
}

const listen = (page: Page, url: string, ms: number) =>
  Effect.promise(() => page.evaluate(([u, t]) => (window as any).attack.listen(u, t) as Promise<Listened>, [url, ms] as const))

/**
 * Opens, in a new page of `context`, the attacker's page that auto-submits a text/plain form to `action`, and waits
 * until the form's request is over: what the browser got. (A 204 answer never commits a navigation, so the form
 * page's own load is not waited for; and the page is closed only once the request is over, else closing hangs.)
 */
const submitForm = (context: BrowserContext, attacker: string, action: string, name: string, value: string) =>
  Effect.promise(async () => {
    const page = await context.newPage()
    const isForm = (r: PwRequest) => r.method() === "POST" && r.url() === action
    let answer = "no answer"
    const over = new Promise<void>((resolve) => {
      page.on("response", (r) => {
        if (isForm(r.request())) answer = `answered ${r.status()}`
      })
      page.on("requestfinished", (r) => isForm(r) && resolve())
      page.on("requestfailed", (r) => {
        if (!isForm(r)) return
        if (answer === "no answer") answer = `failed: ${r.failure()?.errorText}`
        resolve()
      })
      setTimeout(resolve, 10_000)
    })
    await page.goto(`${attacker}/form?${new URLSearchParams({ action, name, value })}`, { waitUntil: "commit" })
    await over
    await page.close()
    return answer
  })

// --- the victim's data, checked through the API from the test (no Origin header) --------------------------------

interface Victim {
  readonly flow: { readonly id: string; readonly name: string }
  readonly run: { readonly id: string; readonly state: { readonly id: string; readonly type: string } }
}

/** A flow and a PENDING flow run of it, created through the API. */
const seed = Effect.gen(function*() {
  const flow = yield* expectStatus(201, "POST", "/api/flows/", { name: unique("victim") })
  const run = yield* expectStatus(201, "POST", "/api/flow_runs/", { flow_id: flow.id })
  expect(run.state.type).toBe("PENDING")
  return { flow, run } as Victim
})

/** What is left of the victim: whether the flow and run exist, and the run's state (id and type). */
const inspect = (victim: Victim) =>
  Effect.gen(function*() {
    const flow = yield* call("GET", `/api/flows/${victim.flow.id}`)
    const run = yield* call("GET", `/api/flow_runs/${victim.run.id}`)
    return {
      flow: flow.status === 200 ? flow.json.name as string : `gone (${flow.status})`,
      run: run.status === 200 ? `${run.json.state.type} ${run.json.state.id}` : `gone (${run.status})`
    }
  })

const untouched = (victim: Victim) => ({ flow: victim.flow.name, run: `PENDING ${victim.run.state.id}` })

const flowCount = expectStatus(200, "POST", "/api/flows/count", {})

/** The base URL of the API under the `localhost` name (the server listens on 127.0.0.1, which localhost reaches). */
const asLocalhost = (url: string) => url.replace("://127.0.0.1:", "://localhost:")

/** A page could see nothing of a response: it failed (CORS) or was opaque (no-cors: status 0, empty body). */
const sawNothing = (seen: Seen) =>
  seen.outcome === "error" || (seen.type === "opaque" && seen.status === 0 && seen.text === "")

// --- the exploits ----------------------------------------------------------------------------------------------

describe("a web page on another origin, in Chromium, against a local Orion API", () => {
  layer(Layer.mergeAll(apiServer(sqlite), ChromiumLive, AttackerLive), { excludeTestServices: true })((it) => {
    it.scoped("cannot clear the database with a no-cors fetch (text/plain, no content type, form-urlencoded; 127.0.0.1 or localhost)", () =>
      Effect.gen(function*() {
        const api = yield* baseUrl
        const attacker = yield* Attacker
        const variants: ReadonlyArray<{ readonly label: string; readonly from: string; readonly api: string; readonly headers?: Record<string, string>; readonly untyped?: boolean }> = [
          { label: "text/plain", from: attacker.origin(), api, headers: { "content-type": "text/plain" } },
          { label: "no content type", from: attacker.origin(), api, untyped: true },
          { label: "form-urlencoded", from: attacker.origin(), api, headers: { "content-type": "application/x-www-form-urlencoded" } },
          { label: "text/plain from localhost", from: attacker.origin("localhost"), api, headers: { "content-type": "text/plain" } },
          { label: "text/plain to the API as localhost", from: attacker.origin(), api: asLocalhost(api), headers: { "content-type": "text/plain" } }
        ]
        const pages = new Map<string, Page>()
        for (const from of new Set(variants.map((v) => v.from))) pages.set(from, (yield* openPage(`${from}/`)).page)
        const results: Array<{ label: string; left: { flow: string; run: string }; seen: Seen }> = []
        const expected: Array<{ label: string; left: { flow: string; run: string } }> = []
        for (const v of variants) {
          const victim = yield* seed
          const page = pages.get(v.from)!
          const seen = yield* send(page, {
            url: `${v.api}/api/admin/database/clear`, method: "POST", mode: "no-cors", body: "{\"confirm\":true}",
            ...(v.headers ? { headers: v.headers } : {}), ...(v.untyped ? { untyped: true } : {})
          })
          results.push({ label: v.label, left: yield* inspect(victim), seen })
          expected.push({ label: v.label, left: untouched(victim) })
        }
        // The data is still there after every attempt (today: "gone (404)", the database was cleared).
        expect(results.map(({ label, left }) => ({ label, left }))).toEqual(expected)
        // and the page learnt nothing from its no-cors requests
        for (const r of results) expect(sawNothing(r.seen), `${r.label}: ${JSON.stringify(r.seen)}`).toBe(true)
      }))

    it.scoped("cannot clear the database, nor create a flow, with an auto-submitted text/plain form whose body is JSON", () =>
      Effect.gen(function*() {
        const api = yield* baseUrl
        const attacker = yield* Attacker
        const context = yield* newContext
        const victim = yield* seed
        const before = yield* flowCount
        // The body is `name=value\r\n`: `{"name":"=<name>"}` would create a flow named `=<name>`…
        const name = unique("forged-by-form")
        const created = yield* submitForm(context, attacker.origin(), `${api}/api/flows/`, "{\"name\":\"", `${name}"}`)
        const lookedUp = yield* call("GET", `/api/flows/name/${encodeURIComponent(`=${name}`)}`)
        const count = yield* flowCount
        // …and `{"confirm":"=","confirm":true}` is valid JSON whose last `confirm` wins: it would clear the database.
        // (The usual `{"confirm":true,"x":"=…"}` would not: payloads are decoded strictly, an unknown field is a 422.)
        const cleared = yield* submitForm(context, attacker.origin(), `${api}/api/admin/database/clear`, "{\"confirm\":\"", "\",\"confirm\":true}")
        // Both requests reached the server (whatever it answered); no flow was created, the data is still there
        // (today: the flow exists, and the victim is gone).
        expect({ created, cleared, lookup: lookedUp.status, count, left: yield* inspect(victim) }).toEqual({
          created: expect.stringMatching(/^answered \d+$/), cleared: expect.stringMatching(/^answered \d+$/),
          lookup: 404, count: before, left: untouched(victim)
        })
      }))

    it.scoped("cannot create a flow nor set a flow run's state with no-cors fetches", () =>
      Effect.gen(function*() {
        const api = yield* baseUrl
        const attacker = yield* Attacker
        const victim = yield* seed
        const before = yield* flowCount
        const { page } = yield* openPage(`${attacker.origin()}/`)
        const name = unique("forged")
        const create = yield* send(page, {
          url: `${api}/api/flows/`, method: "POST", mode: "no-cors", headers: { "content-type": "text/plain" }, body: JSON.stringify({ name })
        })
        const setState = yield* send(page, {
          url: `${api}/api/flow_runs/${victim.run.id}/set_state`, method: "POST", mode: "no-cors", headers: { "content-type": "text/plain" },
          body: JSON.stringify({ state: { type: "CANCELLED", message: "forged" }, force: true })
        })
        const lookedUp = yield* call("GET", `/api/flows/name/${encodeURIComponent(name)}`)
        // No new flow (today: 200, it was created), and the run is still PENDING in its first state (today: CANCELLED).
        expect({ lookup: lookedUp.status, count: yield* flowCount, left: yield* inspect(victim) })
          .toEqual({ lookup: 404, count: before, left: untouched(victim) })
        expect([create, setState].every(sawNothing), JSON.stringify([create, setState])).toBe(true)
      }))

    it.scoped("cannot read: the JSON preflight is refused, GET bodies are withheld (no Access-Control-Allow-Origin), no-cors is opaque", () =>
      Effect.gen(function*() {
        const api = yield* baseUrl
        const attacker = yield* Attacker
        const victim = yield* seed
        const { page } = yield* openPage(`${attacker.origin()}/`)
        const reads: Record<string, Seen> = {
          "POST /api/flows/filter (cors, application/json)": yield* send(page, {
            url: `${api}/api/flows/filter`, method: "POST", mode: "cors", headers: { "content-type": "application/json" }, body: "{}"
          }),
          "GET /api/flows/{id} (cors)": yield* send(page, { url: `${api}/api/flows/${victim.flow.id}`, method: "GET", mode: "cors" }),
          "GET /api/flow_runs/{id} (cors)": yield* send(page, { url: `${api}/api/flow_runs/${victim.run.id}`, method: "GET", mode: "cors" }),
          "GET /api/health (cors)": yield* send(page, { url: `${api}/api/health`, method: "GET", mode: "cors" }),
          "GET /api/admin/settings (cors)": yield* send(page, { url: `${api}/api/admin/settings`, method: "GET", mode: "cors" }),
          "GET /api/flows/{id} (cors, API as localhost)": yield* send(page, { url: `${asLocalhost(api)}/api/flows/${victim.flow.id}`, method: "GET", mode: "cors" }),
          "GET /api/flows/{id} (no-cors)": yield* send(page, { url: `${api}/api/flows/${victim.flow.id}`, method: "GET", mode: "no-cors" }),
          "POST /api/flows/filter (no-cors, text/plain)": yield* send(page, {
            url: `${api}/api/flows/filter`, method: "POST", mode: "no-cors", headers: { "content-type": "text/plain" }, body: "{}"
          })
        }
        for (const [what, seen] of Object.entries(reads)) {
          expect(sawNothing(seen), `${what}: ${JSON.stringify(seen)}`).toBe(true)
          expect(JSON.stringify(seen)).not.toContain(victim.flow.name)
        }
        // CORS-mode reads fail outright in the page
        for (const [what, seen] of Object.entries(reads)) {
          if (what.includes("(cors")) expect(seen, what).toMatchObject({ outcome: "error", error: expect.stringContaining("TypeError") })
        }
        expect(yield* inspect(victim)).toEqual(untouched(victim))
      }))

    it.scoped("cannot listen to the event stream: EventSource errors and delivers no event", () =>
      Effect.gen(function*() {
        const api = yield* baseUrl
        const attacker = yield* Attacker
        const { page } = yield* openPage(`${attacker.origin()}/`)
        // The stream starts with a `hello` frame, then live events: the page would see both if it could read it.
        const listening = listen(page, `${api}/api/events`, 3_000)
        const fiber = yield* Effect.fork(listening)
        yield* Effect.sleep("300 millis")
        yield* seed
        const heard = yield* fiber.await.pipe(Effect.flatten)
        expect(heard).toEqual({ opened: false, errored: true, readyState: 2, events: [] })
      }))

    it.scoped("a DNS-rebinding page (a foreign host name on the API's own port) can neither read nor change anything", () =>
      Effect.gen(function*() {
        const api = yield* baseUrl
        const victim = yield* seed
        const before = yield* flowCount
        const rebound = api.replace("://127.0.0.1:", `://${REBIND_HOST}:`)
        // To the browser this origin *is* the API's: requests are same-origin, JSON needs no preflight, bodies are readable.
        const { page, status: loaded } = yield* openPage(`${rebound}/api/health`)
        yield* Effect.promise(() => page.setContent(attackerPage))
        const read = yield* send(page, { url: `/api/flows/${victim.flow.id}`, method: "GET", mode: "cors" })
        const settings = yield* send(page, { url: "/api/admin/settings", method: "GET", mode: "cors" })
        const name = unique("rebound")
        const create = yield* send(page, {
          url: "/api/flows/", method: "POST", mode: "cors", headers: { "content-type": "application/json" }, body: JSON.stringify({ name })
        })
        const clear = yield* send(page, {
          url: "/api/admin/database/clear", method: "POST", mode: "cors", headers: { "content-type": "application/json" }, body: "{\"confirm\":true}"
        })
        // The page is same-origin, so it does see the answers: each must be a refusal (421: not this server's name)
        // that gives nothing away (today: 200 with the flow, the settings; 201; 204).
        const seen = { read, settings, create, clear } as const
        const statuses = Object.fromEntries(Object.entries(seen).map(([what, s]) => [what, s.outcome === "response" ? s.status : s.error]))
        const leaked = Object.entries(seen)
          .filter(([, s]) => JSON.stringify(s).includes(victim.flow.name) || JSON.stringify(s).includes("database_url"))
          .map(([what]) => what)
        expect({ page: loaded, ...statuses, leaked }).toEqual({ page: 421, read: 421, settings: 421, create: 421, clear: 421, leaked: [] })
        const lookedUp = yield* call("GET", `/api/flows/name/${encodeURIComponent(name)}`)
        expect({ lookup: lookedUp.status, count: yield* flowCount, left: yield* inspect(victim) })
          .toEqual({ lookup: 404, count: before, left: untouched(victim) })
      }))
  })
})

// --- the controls: what must keep working -----------------------------------------------------------------------

/** A built UI (an `index.html`), as `orion start` serves at `/`. */
const makeUi = () => {
  const dir = path.join(tempDir("orion-ui-"), "dist")
  fs.mkdirSync(dir, { recursive: true })
  fs.writeFileSync(path.join(dir, "index.html"), "<!doctype html><meta charset=\"utf-8\"><title>Orion UI</title><body>Orion UI")
  return dir
}

describe("the controls: what a browser may still do", () => {
  /** The API with the attacker's origin in its CORS list. */
  const withCors = Layer.unwrapEffect(Effect.map(Attacker, (attacker) => apiServer(sqlite, { cors: { allowedOrigins: [attacker.origin()] } })))
    .pipe(Layer.provideMerge(AttackerLive), Layer.merge(ChromiumLive))

  layer(withCors, { excludeTestServices: true })((it) => {
    it.scoped("an origin in the CORS list reads with a JSON preflighted fetch, and writes", () =>
      Effect.gen(function*() {
        const api = yield* baseUrl
        const attacker = yield* Attacker
        const victim = yield* seed
        const { page } = yield* openPage(`${attacker.origin()}/`)
        const filtered = yield* send(page, {
          url: `${api}/api/flows/filter`, method: "POST", mode: "cors", headers: { "content-type": "application/json" },
          body: JSON.stringify({ flows: { id: { any_: [victim.flow.id] } } })
        })
        // (the page cannot see Access-Control-Allow-Origin itself: it is not a CORS-safelisted response header)
        expect(filtered).toMatchObject({ outcome: "response", type: "cors", status: 200 })
        expect(JSON.parse((filtered as { text: string }).text)).toMatchObject([{ id: victim.flow.id, name: victim.flow.name }])
        const name = unique("allowed")
        const created = yield* send(page, {
          url: `${api}/api/flows/`, method: "POST", mode: "cors", headers: { "content-type": "application/json" }, body: JSON.stringify({ name })
        })
        expect(created).toMatchObject({ outcome: "response", type: "cors", status: 201 })
        expect((yield* call("GET", `/api/flows/name/${encodeURIComponent(name)}`)).status).toBe(200)
      }))
  })

  layer(Layer.merge(apiServer(sqlite, { uiDir: makeUi() }), ChromiumLive), { excludeTestServices: true })((it) => {
    for (const host of ["127.0.0.1", "localhost"] as const) {
      it.scoped(`the UI served by the Orion server itself (as ${host}) creates, reads and listens`, () =>
        Effect.gen(function*() {
          const api = host === "localhost" ? asLocalhost(yield* baseUrl) : yield* baseUrl
          const { page, status } = yield* openPage(`${api}/`)
          expect(status).toBe(200)
          expect(yield* Effect.promise(() => page.title())).toBe("Orion UI")
          yield* Effect.promise(() => page.setContent(attackerPage))
          const name = unique("from-ui")
          const created = yield* send(page, {
            url: "/api/flows/", method: "POST", mode: "cors", headers: { "content-type": "application/json" }, body: JSON.stringify({ name })
          })
          expect(created).toMatchObject({ outcome: "response", type: "basic", status: 201 })
          const id = JSON.parse((created as { text: string }).text).id as string
          const read = yield* send(page, { url: `/api/flows/${id}`, method: "GET", mode: "cors" })
          expect(read).toMatchObject({ outcome: "response", status: 200 })
          expect(JSON.parse((read as { text: string }).text)).toMatchObject({ id, name })
          const heard = yield* listen(page, "/api/events", 3_000)
          expect(heard.opened).toBe(true)
          expect(heard.events[0]).toMatchObject({ type: "hello" })
        }))
    }
  })
})
