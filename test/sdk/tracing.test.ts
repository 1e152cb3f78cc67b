/**
 * OpenTelemetry spans (src/tracing.ts) through an in-memory exporter: a flow with two tasks, in local mode and in
 * remote mode against a real server on 127.0.0.1 — one trace, the flow run's span the parent of its task runs', a span
 * per proposal with its decision, and the API's request spans continuing the client's trace.
 */
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { Effect } from "effect"
import { spawn } from "node:child_process"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { flow, task } from "../../src/index.js"
import * as Orion from "../../src/sdk/services.js"
import * as Tracing from "../../src/tracing.js"
import { apiServer, baseUrl } from "../api/harness.js"
import { databases, tempDir } from "../support/databases.js"
import { sdkLayer } from "../support/sdk.js"

const db = databases[0]!

const extract = task({ name: "extract" }, async (n: number) => n * 2)
const load = task({ name: "load" }, async (_rows: number) => {
  throw new Error("the warehouse is closed")
})
const etl = flow({ name: "traced-etl" }, async () => {
  const rows = await extract(21)
  await load(rows)
})

const attributes = (s: ReadableSpan) => s.attributes as Record<string, unknown>
const parentOf = (s: ReadableSpan) => s.parentSpanContext?.spanId

/** Runs the flow once with a tracer exporting to memory; answers the spans ended by the time it returned. */
const traced = <E, R>(program: (exporter: InMemorySpanExporter) => Effect.Effect<ReadonlyArray<ReadableSpan>, E, R>) => {
  const exporter = new InMemorySpanExporter()
  return { exporter, run: program(exporter).pipe(Effect.provide(Tracing.layerWithProcessor(new SimpleSpanProcessor(exporter)))) }
}

/** What every mode must show: one trace; flow → task spans; failures recorded; proposals with decisions. */
const expectRunSpans = (spans: ReadonlyArray<ReadableSpan>) => {
  const flowSpan = spans.find((s) => s.name === "orion.flow_run")!
  expect(flowSpan).toBeDefined()
  expect(attributes(flowSpan)).toMatchObject({ "orion.flow.name": "traced-etl", "orion.state.type": "FAILED", "orion.run.attempts": 1 })
  expect(attributes(flowSpan)["orion.flow_run.id"]).toMatch(/^[0-9a-f-]{36}$/)
  expect(flowSpan.status.code).toBe(2) // ERROR
  const trace = flowSpan.spanContext().traceId
  const tasks = spans.filter((s) => s.name === "orion.task_run")
  expect(tasks.map((s) => attributes(s)["orion.task.name"]).sort()).toEqual(["extract", "load"])
  for (const t of tasks) {
    expect(t.spanContext().traceId).toBe(trace)
    expect(parentOf(t)).toBe(flowSpan.spanContext().spanId)
    expect(attributes(t)["orion.flow_run.id"]).toBe(attributes(flowSpan)["orion.flow_run.id"])
    expect(attributes(t)["orion.task_run.id"]).toMatch(/^[0-9a-f-]{36}$/)
  }
  const [extractSpan, loadSpan] = ["extract", "load"].map((n) => tasks.find((s) => attributes(s)["orion.task.name"] === n)!)
  expect(attributes(extractSpan!)).toMatchObject({ "orion.task_run.name": "extract-0", "orion.state.type": "COMPLETED", "orion.run.attempts": 1 })
  expect(extractSpan!.status.code).not.toBe(2)
  expect(attributes(loadSpan!)).toMatchObject({ "orion.task_run.name": "load-0", "orion.state.type": "FAILED" })
  expect(loadSpan!.status.code).toBe(2)
  expect(loadSpan!.events.some((e) => e.name === "exception" && String(e.attributes?.["exception.message"]).includes("the warehouse is closed"))).toBe(true)
  // Every Orion span is in the flow run's trace.
  for (const s of spans.filter((s) => s.name.startsWith("orion."))) expect(s.spanContext().traceId, s.name).toBe(trace)
  return { flowSpan, trace, tasks }
}

describe("spans of a flow with two tasks", () => {
  it("local mode: one trace; proposals with their decisions under the runs that made them", async () => {
    const { run } = traced((exporter) =>
      Effect.gen(function*() {
        yield* etl.run()
        return exporter.getFinishedSpans()
      }).pipe(Effect.provide(sdkLayer(db))))
    const spans = await Effect.runPromise(run)
    const { flowSpan, tasks } = expectRunSpans(spans)
    const proposals = spans.filter((s) => s.name === "orion.propose")
    const flowId = attributes(flowSpan)["orion.flow_run.id"]
    // The flow run's Running rides on its create (orion.create_flow_run); its Failed is a proposal; each under its
    // span, with the decision.
    const flowCreated = spans.find((s) => s.name === "orion.create_flow_run" && attributes(s)["orion.flow_run.id"] === flowId)!
    expect(parentOf(flowCreated)).toBe(flowSpan.spanContext().spanId)
    expect(attributes(flowCreated)).toMatchObject({ "orion.proposed.type": "RUNNING", "orion.decision.status": "ACCEPT", "orion.decision.state_type": "RUNNING" })
    const flowProposals = proposals.filter((s) => attributes(s)["orion.run.id"] === flowId)
    expect(flowProposals.map((s) => attributes(s)["orion.proposed.type"])).toEqual(["FAILED"])
    for (const p of flowProposals) {
      expect(parentOf(p)).toBe(flowSpan.spanContext().spanId)
      expect(attributes(p)).toMatchObject({ "orion.run.kind": "flow_run", "orion.decision.status": "ACCEPT" })
    }
    // A task run's start rides on its create (orion.create_task_run), its end is a proposal under its span.
    for (const t of tasks) {
      const id = attributes(t)["orion.task_run.id"]
      const end = proposals.find((s) => attributes(s)["orion.run.id"] === id)!
      expect(parentOf(end)).toBe(t.spanContext().spanId)
      expect(attributes(end)).toMatchObject({ "orion.run.kind": "task_run", "orion.decision.status": "ACCEPT", "orion.decision.state_type": attributes(t)["orion.state.type"] })
      const created = spans.find((s) => s.name === "orion.create_task_run" && attributes(s)["orion.task_run.id"] === id)!
      expect(attributes(created)).toMatchObject({ "orion.proposed.type": "RUNNING", "orion.decision.status": "ACCEPT", "orion.decision.state_type": "RUNNING" })
    }
  }, 60_000)

  it("remote mode over HTTP: the client's requests and the server's spans (requests, proposals) join the flow run's trace", async () => {
    const { run } = traced((exporter) =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        yield* Effect.provide(etl.run(), Orion.layerRemote({ url: `${url}/api` }, { resultsDir: path.join(tempDir("orion-traced-"), "storage") }))
        return exporter.getFinishedSpans()
      }).pipe(Effect.provide(apiServer(db))))
    const spans = await Effect.runPromise(run)
    const { flowSpan, trace } = expectRunSpans(spans)
    const clientSpans = spans.filter((s) => s.name.startsWith("http.client"))
    const serverSpans = spans.filter((s) => s.name.startsWith("http.server"))
    expect(clientSpans.length).toBeGreaterThan(0)
    expect(serverSpans.length).toBeGreaterThan(0)
    const inTrace = serverSpans.filter((s) => s.spanContext().traceId === trace)
    // Each request the flow run made is served in its trace, as a child of the client's request span.
    const clientIds = new Set(clientSpans.filter((s) => s.spanContext().traceId === trace).map((s) => s.spanContext().spanId))
    expect(inTrace.length).toBeGreaterThan(2)
    for (const s of inTrace) expect(clientIds.has(parentOf(s)!)).toBe(true)
    // The server's proposals are children of its request spans, in the same trace, with their decisions.
    const serverIds = new Set(inTrace.map((s) => s.spanContext().spanId))
    const flowId = attributes(flowSpan)["orion.flow_run.id"]
    const proposals = spans.filter((s) => s.name === "orion.propose" && attributes(s)["orion.run.id"] === flowId)
    expect(proposals.map((s) => attributes(s)["orion.proposed.type"])).toEqual(["RUNNING", "FAILED"])
    for (const p of proposals) {
      expect(serverIds.has(parentOf(p)!)).toBe(true)
      expect(attributes(p)["orion.decision.status"]).toBe("ACCEPT")
    }
  }, 60_000)
})

interface OtlpSpan { readonly name: string; readonly traceId: string; readonly spanId: string; readonly parentSpanId?: string; readonly attributes?: ReadonlyArray<{ readonly key: string; readonly value: Record<string, unknown> }> }

/** An OTLP/HTTP collector on 127.0.0.1 that keeps every span posted to /v1/traces (JSON). */
const collector = async () => {
  const spans: Array<OtlpSpan & { readonly service: string }> = []
  const server = http.createServer((req, res) => {
    let body = ""
    req.on("data", (d) => { body += d })
    req.on("end", () => {
      if (req.url === "/v1/traces") {
        const parsed = JSON.parse(body) as { resourceSpans: Array<{ resource: { attributes: Array<{ key: string; value: { stringValue?: string } }> }; scopeSpans: Array<{ spans: Array<OtlpSpan> }> }> }
        for (const rs of parsed.resourceSpans) {
          const service = rs.resource.attributes.find((a) => a.key === "service.name")?.value.stringValue ?? ""
          for (const ss of rs.scopeSpans) for (const s of ss.spans) spans.push({ ...s, service })
        }
      }
      res.writeHead(200, { "content-type": "application/json" }).end("{}")
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, spans, close: () => server.close() }
}

describe("exported over OTLP/HTTP from a script", () => {
  it("ORION_OTLP_ENDPOINT set: the script's spans reach the collector, and the task runs' spans continue into the parallel() worker threads", async () => {
    const otlp = await collector()
    try {
      const env: Record<string, string | undefined> = { ...process.env, ORION_HOME: tempDir("orion-otlp-"), ORION_OTLP_ENDPOINT: otlp.url, OTEL_SERVICE_NAME: "otlp-test" }
      for (const k of ["ORION_DATABASE_URL", "ORION_API_URL", "ORION_RESULTS_DIR", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_SDK_DISABLED"]) delete env[k]
      const code = await new Promise<number | null>((resolve, reject) => {
        const child = spawn(process.execPath, ["--import", "tsx", path.join("test", "fixtures", "parallel-script.ts")], { cwd: path.resolve(import.meta.dirname, "../.."), env, stdio: "ignore" })
        const timer = setTimeout(() => child.kill("SIGKILL"), 55_000)
        child.on("error", reject)
        child.on("close", (c) => {
          clearTimeout(timer)
          resolve(c)
        })
      })
      expect(code).toBe(0)
      const flowSpan = otlp.spans.find((s) => s.name === "orion.flow_run")!
      expect(flowSpan).toBeDefined()
      expect(flowSpan.service).toBe("otlp-test")
      const tasks = otlp.spans.filter((s) => s.name === "orion.task_run")
      expect(tasks).toHaveLength(3)
      const workers = otlp.spans.filter((s) => s.name === "orion.task_run.worker")
      expect(workers).toHaveLength(3)
      for (const t of tasks) {
        expect(t.traceId).toBe(flowSpan.traceId)
        expect(t.parentSpanId).toBe(flowSpan.spanId)
        const inWorker = workers.filter((w) => w.parentSpanId === t.spanId)
        expect(inWorker).toHaveLength(1)
        expect(inWorker[0]!.traceId).toBe(flowSpan.traceId)
        expect(inWorker[0]!.attributes?.find((a) => a.key === "thread.id")?.value.intValue).not.toBe(0)
      }
    } finally {
      otlp.close()
    }
  }, 60_000)
})
