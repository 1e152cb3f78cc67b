/**
 * The server's log output: the pretty logger's lines, written to stdout once per event-loop turn instead of once per
 * line — a busy server logs a line per request, and a write per line cost more than the line's request did.
 */
import { Cause, Effect, FiberId, FiberRef, HashMap, HashSet, List, Logger } from "effect"

const tty = process.stdout.isTTY === true
const paint = (text: string, ...codes: ReadonlyArray<string>) => (tty ? `${codes.map((c) => `\x1b[${c}m`).join("")}${text}\x1b[0m` : text)
const levelColors: Record<string, ReadonlyArray<string>> = {
  Trace: ["90"], Debug: ["34"], Info: ["32"], Warning: ["33"], Error: ["31"], Fatal: ["101", "30"]
}
const clock = (d: Date) =>
  `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}:${String(d.getSeconds()).padStart(2, "0")}.${String(d.getMilliseconds()).padStart(3, "0")}`

let pending: Array<string> = []
let scheduled = false
/** Writes what is pending, in one write. */
export const flush = () => {
  scheduled = false
  if (pending.length === 0) return
  const text = pending.join("\n") + "\n"
  pending = []
  process.stdout.write(text)
}
process.on("exit", flush)

/**
 * Lines as the pretty logger writes them (`[12:00:00.000] INFO (#12): message`), batched. A record the one-line form
 * cannot carry (a cause, several messages, annotations, spans) goes to the pretty logger, after what is pending.
 */
export const batchedLogger = Logger.make<unknown, void>((options) => {
  const { annotations, cause, date, fiberId, logLevel, message, spans } = options
  const text = Array.isArray(message) ? (message.length === 1 ? message[0] : undefined) : message
  if (typeof text !== "string" || !Cause.isEmpty(cause) || HashMap.size(annotations) > 0 || List.isCons(spans)) {
    flush()
    Logger.prettyLoggerDefault.log(options)
    return
  }
  pending.push(`${paint(`[${clock(date)}]`, "37")} ${paint(logLevel.label, ...(levelColors[logLevel._tag] ?? []))} (${FiberId.threadName(fiberId)}): ${paint(text, "1", "36")}`)
  if (!scheduled) {
    scheduled = true
    setImmediate(flush)
  }
})

/** Runs `effect` (and every fiber it starts) with the batched logger in place of the default and the pretty one. */
export const withBatchedLogs = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.ensuring(
    Effect.locallyWith(effect, FiberRef.currentLoggers, (loggers) =>
      HashSet.add(HashSet.remove(HashSet.remove(loggers, Logger.defaultLogger), Logger.prettyLoggerDefault), batchedLogger)),
    Effect.sync(flush)
  )
