/** The types of `virtual:orion-api` (made at build time by ui/orion-api-module.ts from the API definition and the domain). */
declare module "virtual:orion-api" {
  /** Method, path and payload placement of every endpoint of `OrionApi`, by group and endpoint name. */
  export const routes: Record<string, Record<string, { readonly method: string; readonly path: string; readonly body: boolean }>>
  export const stateTypes: typeof import("../../src/domain/state.js").StateTypes
  export const stateNames: ReadonlyArray<keyof typeof import("../../src/domain/state.js").States>
  export const emptyStateDetails: typeof import("../../src/domain/state.js").emptyStateDetails
  export const maxSummaryPage: typeof import("../../src/domain/task-run-summary.js").MAX_SUMMARY_PAGE
}
