/**
 * Counts the commits a bench process makes, by watching its database drivers from outside Orion: on SQLite every
 * COMMIT and every write run outside a transaction (better-sqlite3 statements); on PostgreSQL every COMMIT and every
 * write sent outside a transaction (`pg` clients). Installed before Orion opens its database.
 */
import { createRequire } from "node:module"

const require = createRequire(import.meta.url)
const control = /^\s*(BEGIN|ROLLBACK|SAVEPOINT|RELEASE|PRAGMA|SET|SHOW)\b/i
const pgWrite = /^\s*(INSERT|UPDATE|DELETE|WITH|MERGE|SELECT\s+pg_notify)\b/i

let count = 0

/** The number of commits so far. */
export const commits = (): number => count

export const installCommitCounter = () => {
  const Sqlite = require("better-sqlite3")
  const probe = new Sqlite(":memory:")
  const statementProto = Object.getPrototypeOf(probe.prepare("SELECT 1"))
  probe.close()
  for (const method of ["run", "all", "get"] as const) {
    const original = statementProto[method]
    statementProto[method] = function(this: { source: string; readonly: boolean; database: { inTransaction: boolean } }, ...args: Array<unknown>) {
      const result = original.apply(this, args)
      if (/^\s*COMMIT\b/i.test(this.source) || (!this.readonly && !this.database.inTransaction && !control.test(this.source))) count++
      return result
    }
  }
  const pg = require("pg")
  const inTransaction = new WeakSet<object>()
  const query = pg.Client.prototype.query
  pg.Client.prototype.query = function(this: object, config: unknown, ...rest: Array<unknown>) {
    const text = typeof config === "string" ? config : (config as { text?: unknown } | null)?.text
    if (typeof text === "string") {
      if (/^\s*BEGIN\b/i.test(text)) inTransaction.add(this)
      else if (/^\s*COMMIT\b/i.test(text)) { inTransaction.delete(this); count++ }
      else if (/^\s*ROLLBACK\b/i.test(text)) inTransaction.delete(this)
      else if (!inTransaction.has(this) && pgWrite.test(text)) count++
    }
    return query.call(this, config, ...rest)
  }
}
