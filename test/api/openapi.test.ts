/** The OpenAPI document of `OrionApi`: valid OpenAPI 3.1 under a strict validator, a summary on every operation, and only the error responses each operation can give. */
import * as OpenApi from "@effect/platform/OpenApi"
import { Validator } from "@seriousme/openapi-schema-validator"
import { describe, expect, it } from "vitest"
import { OrionApi } from "../../src/api/api.js"

interface Operation {
  readonly operationId: string
  readonly summary?: string
  readonly parameters?: ReadonlyArray<unknown>
  readonly requestBody?: unknown
  readonly responses: Record<string, unknown>
}

const spec = OpenApi.fromApi(OrionApi) as unknown as { openapi: string; paths: Record<string, Record<string, Operation>> }
const operations = Object.entries(spec.paths).flatMap(([path, item]) =>
  Object.entries(item).map(([method, op]) => ({ path, method, op })))

describe("/openapi.json", () => {
  it("is valid OpenAPI 3.1", async () => {
    expect(spec.openapi).toMatch(/^3\.1\./)
    const result = await new Validator().validate(spec as unknown as Record<string, unknown>)
    expect(result.errors).toBeUndefined()
    expect(result.valid).toBe(true)
  })

  it("gives every operation a unique id and a summary", () => {
    expect(operations.length).toBeGreaterThan(60)
    expect(new Set(operations.map((o) => o.op.operationId)).size).toBe(operations.length)
    expect(operations.filter((o) => (o.op.summary ?? "").trim() === "").map((o) => o.op.operationId)).toEqual([])
  })

  it("lists 413 only with a request body, 422 only with input, 409 only where something is written", () => {
    for (const { method, op } of operations) {
      const codes = Object.keys(op.responses)
      const input = op.requestBody !== undefined || (op.parameters ?? []).length > 0
      if (codes.includes("413")) expect(op.requestBody, op.operationId).toBeDefined()
      if (codes.includes("422")) expect(input, op.operationId).toBe(true)
      if (codes.includes("409")) expect(method, op.operationId).not.toBe("get")
      expect(codes, op.operationId).toContain("500")
      expect(codes, op.operationId).toContain("503")
    }
    const codes = (id: string) => Object.keys(operations.find((o) => o.op.operationId === id)!.op.responses)
    expect(codes("flow_runs.setState")).toEqual(expect.arrayContaining(["404", "409", "413", "422"]))
    expect(codes("flow_runs.filter")).not.toContain("409")
    expect(codes("admin.version")).not.toEqual(expect.arrayContaining(["409"]))
    expect(codes("admin.version")).not.toContain("413")
    expect(codes("admin.version")).not.toContain("422")
    expect(codes("data.persist")).toContain("413")
  })
})
