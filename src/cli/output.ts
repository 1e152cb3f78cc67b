/**
 * What the `orion` command prints: plain text when colour is off (`NO_COLOR`, or output that is not a terminal), usage
 * lines that read `orion …`, aligned tables, and `CliFailure` — a refusal printed as one line with a non-zero exit.
 */
import { Console, Data, Effect } from "effect"

/** A refusal of the command line (bad argument, unknown run …): printed as one line, and the process exits 1. */
export class CliFailure extends Data.TaggedError("CliFailure")<{ readonly message: string }> {}

/** Colour only on a terminal, and never with `NO_COLOR` set to anything (https://no-color.org). */
export const useColour = (stream: { readonly isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean =>
  stream.isTTY === true && (env.NO_COLOR ?? "") === "" && env.TERM !== "dumb"

// eslint-disable-next-line no-control-regex
const ansi = /\u001b\[[0-9;]*m/g
export const stripAnsi = (text: string): string => text.replace(ansi, "")

/**
 * The text @effect/cli prints, adjusted: its usage lines name the command alone (`$ ls`); ours name the program and the
 * whole command (`$ orion flow-run ls`), and its colour codes go when colour is off.
 */
export const adjustHelp = (text: string, commandPath: ReadonlyArray<string>, colour: boolean): string => {
  const plain = colour ? text : stripAnsi(text)
  const leaf = commandPath.at(-1)
  if (leaf === undefined) return plain
  const full = ["orion", ...commandPath].join(" ")
  return plain.replace(new RegExp(`^((?:\\u001b\\[[0-9;]*m)*)\\$ ${leaf.replace(/[-]/g, "\\-")}(?=\\s|$)`, "gm"), `$1$ ${full}`)
}

/** The commands named at the start of `args` (the words before the first option or argument that is not a command). */
export const commandPathOf = (args: ReadonlyArray<string>, commands: ReadonlySet<string>): Array<string> => {
  const path: Array<string> = []
  for (const arg of args) {
    if (!commands.has(arg)) break
    path.push(arg)
  }
  return path
}

/** A Console that passes everything through `adjust` (for the help and errors @effect/cli prints). */
export const adjustedConsole = (adjust: (text: string, stream: "out" | "err") => string): Console.Console => {
  const out = (args: ReadonlyArray<unknown>, stream: "out" | "err") => args.map((a) => typeof a === "string" ? adjust(a, stream) : a)
  const base = globalThis.console
  return {
    [Console.TypeId]: Console.TypeId,
    assert: (condition, ...args) => Effect.sync(() => base.assert(condition, ...out(args, "err"))),
    clear: Effect.sync(() => base.clear()),
    count: (label) => Effect.sync(() => base.count(label)),
    countReset: (label) => Effect.sync(() => base.countReset(label)),
    debug: (...args) => Effect.sync(() => base.debug(...out(args, "out"))),
    dir: (item, options) => Effect.sync(() => base.dir(item, options)),
    dirxml: (...args) => Effect.sync(() => base.dirxml(...args)),
    error: (...args) => Effect.sync(() => base.error(...out(args, "err"))),
    group: (options) => Effect.sync(() => options?.collapsed ? base.groupCollapsed(options.label) : base.group(options?.label)),
    groupEnd: Effect.sync(() => base.groupEnd()),
    info: (...args) => Effect.sync(() => base.info(...out(args, "out"))),
    log: (...args) => Effect.sync(() => base.log(...out(args, "out"))),
    table: (data, properties) => Effect.sync(() => base.table(data, properties)),
    time: (label) => Effect.sync(() => base.time(label)),
    timeEnd: (label) => Effect.sync(() => base.timeEnd(label)),
    timeLog: (label, ...args) => Effect.sync(() => base.timeLog(label, ...args)),
    trace: (...args) => Effect.sync(() => base.trace(...out(args, "err"))),
    warn: (...args) => Effect.sync(() => base.warn(...out(args, "err"))),
    unsafe: base
  }
}

/** Rows as an aligned table under a header; an empty list prints `empty` instead. */
export const table = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)))
  const line = (cells: ReadonlyArray<string>) => cells.map((c, i) => i === cells.length - 1 ? c : c.padEnd(widths[i]!)).join("  ").trimEnd()
  return [line(header), ...rows.map(line)].join("\n")
}

/** `when` relative to `now`, as people read it: "5s ago", "in 3m", "2h ago", "4d ago". */
export const relativeTime = (when: Date, now: Date): string => {
  const seconds = Math.round((now.getTime() - when.getTime()) / 1000)
  const abs = Math.abs(seconds)
  const text = abs < 60 ? `${abs}s` : abs < 3600 ? `${Math.floor(abs / 60)}m` : abs < 86400 ? `${Math.floor(abs / 3600)}h` : `${Math.floor(abs / 86400)}d`
  return seconds >= 0 ? `${text} ago` : `in ${text}`
}

/** JSON for scripts: one document, two-space indented. */
export const printJson = (value: unknown) => Console.log(JSON.stringify(value, null, 2))
