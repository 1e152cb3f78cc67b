/** Orchestration: rules, transforms, policies and the engine that applies them. */
export * from "./rule.js"
export * from "./states.js"
export * from "./store.js"
export * from "./engine.js"
export * from "./steps.js"
export * from "./rules.js"
export * from "./transforms.js"
export * from "./policies.js"
