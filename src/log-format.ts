/**
 * The one log line format of every Orion process (`ORION_LOG_FORMAT=pretty|logfmt|json`) and its level
 * (`ORION_LOG_LEVEL`): the settings, the rendering of one record as one line, and of an Effect log message (its parts
 * and cause) as that record's text — for the console and for run logs alike. The Effect loggers are in log-console.ts.
 */
import { Cause, Config, ConfigError, Either, LogLevel } from "effect"
import * as util from "node:util"

export const logFormats = ["pretty", "logfmt", "json"] as const
export type LogFormat = (typeof logFormats)[number]

export const logLevelNames = ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] as const
export type LogLevelName = (typeof logLevelNames)[number]

const effectLevels: Record<LogLevelName, LogLevel.LogLevel> = {
  DEBUG: LogLevel.Debug, INFO: LogLevel.Info, WARNING: LogLevel.Warning, ERROR: LogLevel.Error, CRITICAL: LogLevel.Fatal
}

/** `ORION_LOG_FORMAT`: how every Orion process writes its log lines on stderr (default `pretty`). */
export const logFormat: Config.Config<LogFormat> = Config.string("ORION_LOG_FORMAT").pipe(
  Config.withDefault("pretty"),
  Config.mapOrFail((raw) => {
    const value = raw.trim().toLowerCase()
    return (logFormats as ReadonlyArray<string>).includes(value)
      ? Either.right(value as LogFormat)
      : Either.left(ConfigError.InvalidData(["ORION_LOG_FORMAT"], `ORION_LOG_FORMAT must be one of ${logFormats.join(", ")}; got '${raw}'`))
  })
)

/** `ORION_LOG_LEVEL`: the least level logged, by the console and into run logs alike (default `INFO`). */
export const logLevel: Config.Config<LogLevel.LogLevel> = Config.string("ORION_LOG_LEVEL").pipe(
  Config.withDefault("INFO"),
  Config.mapOrFail((raw) => {
    const value = raw.trim().toUpperCase()
    const name = value === "WARN" ? "WARNING" : value === "FATAL" ? "CRITICAL" : value
    return (logLevelNames as ReadonlyArray<string>).includes(name)
      ? Either.right(effectLevels[name as LogLevelName])
      : Either.left(ConfigError.InvalidData(["ORION_LOG_LEVEL"], `ORION_LOG_LEVEL must be one of ${logLevelNames.join(", ")}; got '${raw}'`))
  })
)

/** Effect's level as Orion (and Prefect) name it. */
export const levelName = (level: LogLevel.LogLevel): LogLevelName =>
  level._tag === "Fatal" ? "CRITICAL" : level._tag === "Error" ? "ERROR" : level._tag === "Warning" ? "WARNING" : level._tag === "Info" || level._tag === "None" ? "INFO" : "DEBUG"

/** One log record, whatever wrote it. */
export interface LogRecord {
  readonly timestamp: Date
  readonly level: LogLevelName
  readonly logger: string
  readonly message: string
  /** Ids and other annotations (`flow_run_id`, `task_run_id`, …); json and logfmt carry them, pretty does not. */
  readonly fields: Readonly<Record<string, unknown>>
}

const colours: Record<LogLevelName, string> = { DEBUG: "34", INFO: "32", WARNING: "33", ERROR: "31", CRITICAL: "1;31" }

/** `2026-01-01T12:00:00.000Z INFO orion.flow_runs.etl - message` (the level coloured on a terminal). */
const pretty = (r: LogRecord, colour: boolean) =>
  `${r.timestamp.toISOString()} ${colour ? `\x1b[${colours[r.level]}m${r.level}\x1b[0m` : r.level} ${r.logger} - ${r.message}`

const logfmtValue = (value: unknown): string => {
  const text = typeof value === "string" ? value : typeof value === "number" || typeof value === "boolean" ? String(value) : JSON.stringify(value) ?? String(value)
  return text !== "" && /^[^\s"=\\]+$/.test(text) ? text : JSON.stringify(text)
}

/** `timestamp=… level=INFO logger=… flow_run_id=… message="…"` */
const logfmt = (r: LogRecord) => {
  let line = `timestamp=${r.timestamp.toISOString()} level=${r.level} logger=${logfmtValue(r.logger)}`
  for (const [k, v] of Object.entries(r.fields)) line += ` ${k.replace(/[\s="]/g, "_")}=${logfmtValue(v)}`
  return `${line} message=${logfmtValue(r.message)}`
}

/** One JSON object: timestamp, level, logger, message, then the fields. */
const json = (r: LogRecord) => {
  try {
    return JSON.stringify({ timestamp: r.timestamp.toISOString(), level: r.level, logger: r.logger, message: r.message, ...r.fields })
  } catch {
    return JSON.stringify({ timestamp: r.timestamp.toISOString(), level: r.level, logger: r.logger, message: r.message })
  }
}

/** One part of a log message as text: strings as they are, plain data as JSON, anything else as Node prints it. */
const renderPart = (part: unknown): string => {
  if (typeof part === "string") return part
  if (typeof part === "number" || typeof part === "boolean" || part === null) return String(part)
  if (typeof part === "object") {
    const proto = Object.getPrototypeOf(part)
    if (Array.isArray(part) || proto === Object.prototype || proto === null) {
      try {
        return JSON.stringify(part)
      } catch {
        // cycles, bigints: fall through to inspect
      }
    }
  }
  return util.inspect(part, { depth: 4, breakLength: Infinity })
}

/** Effect's log message (usually an array of parts) as one line of text, plus the cause when there is one. */
export const renderMessage = (message: unknown, cause: Cause.Cause<unknown>): string => {
  const text = Array.isArray(message) ? message.map(renderPart).join(" ") : renderPart(message)
  if (Cause.isEmpty(cause)) return text
  const pretty = Cause.pretty(cause, { renderErrorCause: true })
  return text === "" ? pretty : `${text}\n${pretty}`
}

/** The record as one line (without its newline); a message's own newlines stay inside it for json and logfmt. */
export const formatLine = (format: LogFormat, record: LogRecord, colour = false): string =>
  format === "json" ? json(record) : format === "logfmt" ? logfmt(record) : pretty(record, colour)
