/** Result references: a DataDocument names an encoding and carries its bytes as UTF-8 text (spec §1.6). */
import { Schema } from "effect"

export const DataDocument = Schema.Struct({
  encoding: Schema.String.pipe(Schema.minLength(1)),
  blob: Schema.String
}).annotations({ identifier: "DataDocument" })
export type DataDocument = typeof DataDocument.Type
