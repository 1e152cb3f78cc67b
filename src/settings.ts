/** Orion's settings, read through Effect `Config` from the environment, each with its default (README "Settings"). */
import { Config } from "effect"
import * as os from "node:os"
import * as path from "node:path"

/** `ORION_HOME`: where the default database and results live (default `~/.orion`). */
export const orionHome = Config.string("ORION_HOME").pipe(
  Config.withDefault(path.join(os.homedir(), ".orion")),
  Config.map((p) => path.resolve(p.startsWith("~") ? path.join(os.homedir(), p.slice(1)) : p))
)

/** `ORION_DATABASE_URL`: `postgres://…` for PostgreSQL, else a SQLite file (default `$ORION_HOME/orion.db`). */
export const databaseUrl = Config.all([Config.option(Config.string("ORION_DATABASE_URL")), orionHome]).pipe(
  Config.map(([url, home]) => url._tag === "Some" && url.value.trim() !== "" ? url.value.trim() : path.join(home, "orion.db"))
)
