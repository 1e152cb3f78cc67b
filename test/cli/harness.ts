/**
 * The `orion` command as a user runs it, for the CLI tests: a child process of bin/orion.js (or a script under tsx),
 * awaited whole or read line by line while it runs, and `orion start` on a fresh home as the real server behind
 * `ORION_API_URL`, with a plain-fetch caller of its API.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { cleanEnv } from "../support/env.js"
import { freePort } from "../support/ports.js"

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..")
const bin = path.join(root, "bin", "orion.js")

export interface Ran { readonly code: number | null; readonly stdout: string; readonly stderr: string }

const exec = (args: ReadonlyArray<string>, env: Record<string, string>, timeout: number) =>
  new Promise<Ran>((resolve) => {
    execFile(process.execPath, args, { cwd: root, env: cleanEnv(env), timeout }, (error, stdout, stderr) =>
      resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : null, stdout, stderr }))
  })

/** `orion <args>` to its end. */
export const orion = (args: ReadonlyArray<string>, env: Record<string, string>, timeout = 180_000) => exec([bin, ...args], env, timeout)

/** A process still running: its output so far, a wait for a line of it, and its end. */
export interface Running {
  readonly child: ChildProcess
  readonly stdout: () => string
  /** The first match of `pattern` in stdout, once it has been printed (rejects if the process ends first). */
  readonly waitFor: (pattern: RegExp) => Promise<RegExpExecArray>
  readonly done: Promise<Ran>
}

const start = (args: ReadonlyArray<string>, env: Record<string, string>): Running => {
  const child = spawn(process.execPath, args, { cwd: root, env: cleanEnv(env), stdio: ["ignore", "pipe", "pipe"] })
  let out = ""
  let err = ""
  const waiters = new Set<() => void>()
  child.stdout!.on("data", (d) => {
    out += d
    for (const w of waiters) w()
  })
  child.stderr!.on("data", (d) => (err += d))
  const done = new Promise<Ran>((resolve) => child.once("close", (code) => {
    resolve({ code, stdout: out, stderr: err })
    for (const w of waiters) w()
  }))
  let ended = false
  void done.then(() => (ended = true))
  const waitFor = (pattern: RegExp) => new Promise<RegExpExecArray>((resolve, reject) => {
    const check = () => {
      const m = pattern.exec(out)
      if (m) {
        waiters.delete(check)
        resolve(m)
      } else if (ended || child.exitCode !== null) {
        waiters.delete(check)
        reject(new Error(`the process ended (${child.exitCode}) before printing ${pattern}: ${out}\n${err}`))
      }
    }
    waiters.add(check)
    check()
  })
  return { child, stdout: () => out, waitFor, done }
}

/** `orion <args>`, running. */
export const orionRunning = (args: ReadonlyArray<string>, env: Record<string, string>) => start([bin, ...args], env)

/** A test fixture script (TypeScript, under tsx), running. */
export const script = (file: string, args: ReadonlyArray<string>, env: Record<string, string>) =>
  start(["--import", "tsx", path.join(root, "test", "fixtures", file), ...args], env)

/** A fresh ORION_HOME, removed at the end of the test process. */
export const freshHome = (prefix = "orion-cli-") => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix))
  process.once("exit", () => fs.rmSync(dir, { recursive: true, force: true }))
  return dir
}

export interface Server {
  /** The environment of a client of this server: `ORION_API_URL`, `ORION_API_KEY`, a home of its own. */
  readonly remote: Record<string, string>
  /** A call of its API (JSON in and out); fails on a status other than `expect` (default: any 2xx). */
  readonly api: (method: string, route: string, body?: unknown, expect?: number) => Promise<any>
  readonly stop: () => void
}

/** `orion start --no-services --no-ui` on `home` (no scheduler or agent: the tests move runs themselves). */
export const startServer = async (home: string, key = "test-key"): Promise<Server> => {
  const port = await freePort()
  const server = spawn(process.execPath, [bin, "start", "--port", String(port), "--no-services", "--no-ui"], {
    cwd: root, env: cleanEnv({ ORION_HOME: home, ORION_API_KEY: key }), stdio: ["ignore", "ignore", "pipe"]
  })
  let log = ""
  server.stderr!.on("data", (d) => (log += d))
  const url = `http://127.0.0.1:${port}/api`
  const api = async (method: string, route: string, body?: unknown, expect?: number) => {
    const r = await fetch(`${url}${route}`, {
      method, headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, ...(body === undefined ? {} : { body: JSON.stringify(body) })
    })
    const text = await r.text()
    if (expect !== undefined ? r.status !== expect : !r.ok) throw new Error(`${method} ${route}: ${r.status} ${text}`)
    return text === "" ? undefined : JSON.parse(text)
  }
  for (let i = 0; i < 600; i++) {
    const up = await fetch(`${url}/health`, { headers: { authorization: `Bearer ${key}` } }).then((r) => r.ok, () => false)
    if (up) return { remote: { ORION_HOME: freshHome("orion-cli-client-"), ORION_API_URL: url, ORION_API_KEY: key }, api, stop: () => void server.kill("SIGTERM") }
    if (server.exitCode !== null) break
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  server.kill("SIGKILL")
  throw new Error(`orion start did not answer: ${log}`)
}

/** Polls `check` every 200 ms until it returns a value (not undefined), for up to `ms`. */
export const eventually = async <A>(what: string, ms: number, check: () => Promise<A | undefined>): Promise<A> => {
  const until = Date.now() + ms
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}
