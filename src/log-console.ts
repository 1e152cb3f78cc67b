/**
 * The console side of Orion's logging: an Effect logger writing each record as one line on stderr in the
 * `ORION_LOG_FORMAT` format, with `ORION_LOG_LEVEL` as the least level — in scripts (the runtime flows run on), the CLI
 * and the server (there through `Logger.batched`: one write per batch of lines instead of one per line).
 */
import { type ConfigError, Duration, Effect, FiberRef, HashSet, Layer, Logger, type LogLevel } from "effect"
import { formatLine, type LogFormat, levelName, logFormat, logLevel, type LogRecord, renderMessage } from "./log-format.js"

const fieldNames: Record<string, string> = { "orion.flow_run_id": "flow_run_id", "orion.task_run_id": "task_run_id" }

/** Effect's log call as a record: the logger name from the "orion.logger" annotation, the other annotations as fields. */
export const toRecord = (options: Logger.Logger.Options<unknown>): LogRecord => {
  let logger = "orion"
  const fields: Record<string, unknown> = {}
  for (const [key, value] of options.annotations) {
    if (key === "orion.logger") logger = String(value)
    else fields[fieldNames[key] ?? key] = value
  }
  return { timestamp: options.date, level: levelName(options.logLevel), logger, message: renderMessage(options.message, options.cause), fields }
}

const colourOn = (stream: NodeJS.WriteStream) => stream.isTTY === true && (process.env.NO_COLOR ?? "") === "" && process.env.TERM !== "dumb"

/** Lines in `format`, as strings (for batching). */
export const lineLogger = (format: LogFormat): Logger.Logger<unknown, string> => {
  const colour = format === "pretty" && colourOn(process.stderr)
  return Logger.make((options) => formatLine(format, toRecord(options), colour))
}

/** Orion's console loggers, so that installing one (the server's, inside the CLI's) replaces the other. */
const consoleLoggers = new WeakSet<Logger.Logger<unknown, any>>()
const ours = <L extends Logger.Logger<unknown, any>>(logger: L): L => {
  consoleLoggers.add(logger)
  return logger
}

/** Each line written to stderr at once. */
export const consoleLogger = (format: LogFormat): Logger.Logger<unknown, void> =>
  ours(Logger.map(lineLogger(format), (line) => void process.stderr.write(line + "\n")))

/** The loggers without Effect's console loggers and Orion's own (the run logger and any a user added stay). */
const withoutEffectDefaults = (loggers: HashSet.HashSet<Logger.Logger<unknown, any>>) =>
  HashSet.filter(loggers, (l) => l !== Logger.defaultLogger && l !== Logger.prettyLoggerDefault && l !== Logger.structuredLogger && !consoleLoggers.has(l))

/** The settings read once: a bad value fails with one line naming the accepted values. */
export const settings = Effect.all({ format: logFormat, level: logLevel })

/**
 * Orion's console logger in place of Effect's default one, and the least level: for the fibers of the runtime it is
 * built into (Orion's own runtime in a script; a user's other Effect code keeps its loggers).
 */
export const layer: Layer.Layer<never, ConfigError.ConfigError> = Layer.unwrapEffect(Effect.map(settings, ({ format, level }) =>
  Layer.mergeAll(
    Layer.scopedDiscard(Effect.locallyScopedWith(FiberRef.currentLoggers, (loggers) => HashSet.add(withoutEffectDefaults(loggers), consoleLogger(format)))),
    Logger.minimumLogLevel(level)
  )))

/** Runs `effect` with Orion's console logger and level (the CLI: one process, one format). */
export const withConsoleLogs = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | ConfigError.ConfigError, R> =>
  Effect.flatMap(settings, ({ format, level }) => withLoggerAndLevel(effect, consoleLogger(format), level))

const withLoggerAndLevel = <A, E, R>(effect: Effect.Effect<A, E, R>, logger: Logger.Logger<unknown, void>, level: LogLevel.LogLevel) =>
  effect.pipe(
    Effect.locallyWith(FiberRef.currentLoggers, (loggers) => HashSet.add(withoutEffectDefaults(loggers), logger)),
    Logger.withMinimumLogLevel(level)
  )

/**
 * Runs `effect` (the server) with Orion's lines batched: a busy server logs a line per request, and a write per line
 * cost more than the line's request did. What is pending is written when the effect ends.
 */
export const withBatchedConsoleLogs = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | ConfigError.ConfigError, R> =>
  Effect.scoped(Effect.gen(function*() {
    const { format, level } = yield* settings
    const batched = yield* Logger.batched(lineLogger(format), Duration.millis(10),
      (lines: Array<string>) => Effect.sync(() => void process.stderr.write(lines.join("\n") + "\n")))
    return yield* withLoggerAndLevel(effect, ours(batched), level)
  }))
