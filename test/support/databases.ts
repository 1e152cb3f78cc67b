/** The databases every storage/orchestration suite runs against: a SQLite file, and a real PostgreSQL when available. */
import { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { Effect, Layer, Redacted } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Database from "../../src/storage/database.js"

export interface TestDatabase {
  readonly name: "sqlite" | "pg"
  /** A fresh, empty, migrated database for one suite. */
  readonly layer: () => Layer.Layer<Database.Database | SqlClient.SqlClient, unknown>
  /** The URL of a fresh database that exists while `lifecycle` is alive, for suites that open it twice. */
  readonly fresh: () => { readonly url: string; readonly lifecycle: Layer.Layer<never, unknown> }
}

const pgUrl = process.env.ORION_TEST_PG_URL

const tempDirs = new Set<string>()
process.once("exit", () => {
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true })
})

/** A new temp directory, removed when the process exits. */
export const tempDir = (prefix = "orion-test-"): string => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix))
  tempDirs.add(dir)
  return dir
}

const sqlite: TestDatabase = {
  name: "sqlite",
  layer: () => Database.layerFromUrl(path.join(tempDir(), "orion.db")),
  fresh: () => ({ url: path.join(tempDir(), "orion.db"), lifecycle: Layer.empty })
}

const withDatabase = (url: string, db: string) => {
  const u = new URL(url)
  u.pathname = `/${db}`
  return u.toString()
}

/** Creates a uniquely named database on the test server and drops it when the layer is released. */
const freshPg = () => {
  const name = `orion_test_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`
  const admin = PgClient.layer({ url: Redacted.make(pgUrl!), maxConnections: 1 })
  const lifecycle = Layer.scopedDiscard(Effect.acquireRelease(
    Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe(`CREATE DATABASE ${name}`)),
    () => Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).pipe(Effect.ignore)
  )).pipe(Layer.provide(admin))
  return { url: withDatabase(pgUrl!, name), lifecycle }
}

const pg: TestDatabase = {
  name: "pg",
  layer: () => {
    const { url, lifecycle } = freshPg()
    return Layer.provideMerge(Database.layerFromUrl(url), lifecycle)
  },
  fresh: freshPg
}

if (!pgUrl && process.env.ORION_TEST_PG_REQUIRED) throw new Error("ORION_TEST_PG_URL is required but not set")

/** SQLite always; PostgreSQL when ORION_TEST_PG_URL is set (the test command always sets it). */
export const databases: ReadonlyArray<TestDatabase> = pgUrl ? [sqlite, pg] : [sqlite]
