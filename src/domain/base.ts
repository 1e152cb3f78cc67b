/** Fields every persisted top-level object carries (spec §0.2). */
import { Schema } from "effect"
import { Timestamp, Uuid } from "./primitives.js"

export const BaseFields = {
  id: Uuid,
  created: Timestamp,
  updated: Timestamp
} as const
