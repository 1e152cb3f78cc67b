/** State-type sets used to declare rules. */
import { StateTypes, TerminalStateTypes, type StateType } from "../domain/index.js"
import type { From } from "./rule.js"

export const ALL: ReadonlyArray<From> = [null, ...StateTypes]
export const TERMINAL: ReadonlyArray<From> = TerminalStateTypes
export const except = (...types: ReadonlyArray<From>): ReadonlyArray<From> => ALL.filter((t) => !types.includes(t))
export const only = (...types: ReadonlyArray<StateType>): ReadonlyArray<From> => types
