/**
 * The `orion` command run as a user runs it, for the tests of long-lived processes (agents, executors): once
 * (`orion`), or long-lived (`launch`, with its output kept; `stop`), plus polling (`waitFor`) and JSON over HTTP.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { cleanEnv } from "./env.js"

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..")
export const bin = path.join(root, "bin", "orion.js")

export interface Ran { readonly code: number | null; readonly stdout: string; readonly stderr: string }

/** `orion …` to its end (at most 120 s): its exit code and output. */
export const orion = (args: ReadonlyArray<string>, env: Record<string, string>) =>
  new Promise<Ran>((resolve) => {
    execFile(process.execPath, [bin, ...args], { cwd: root, env: cleanEnv(env), timeout: 120_000 }, (error, stdout, stderr) =>
      resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : null, stdout, stderr }))
  })

/** A long-lived `orion …` process, its output collected. */
export interface Running { readonly child: ChildProcess; readonly output: () => string }

export const launch = (args: ReadonlyArray<string>, env: Record<string, string>): Running => {
  const child = spawn(process.execPath, [bin, ...args], { cwd: root, env: cleanEnv(env), stdio: ["ignore", "pipe", "pipe"] })
  let output = ""
  child.stdout!.on("data", (d: Buffer) => { output += d.toString() })
  child.stderr!.on("data", (d: Buffer) => { output += d.toString() })
  return { child, output: () => output }
}

/** SIGTERM, and SIGKILL if it has not exited 30 s later (a loaded machine can be that slow to stop a server). */
export const stop = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve()
    const kill = setTimeout(() => child.kill("SIGKILL"), 30_000)
    child.once("exit", () => {
      clearTimeout(kill)
      resolve()
    })
    child.kill("SIGTERM")
  })

/** Waits until `check` gives a value (polled every `every` ms), failing with `what` and the processes' output after `ms`. */
export const waitFor = async <A>(what: string, ms: number, check: () => Promise<A | undefined>, context: () => string, every = 500): Promise<A> => {
  const deadline = Date.now() + ms
  for (;;) {
    const value = await check().catch(() => undefined)
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}. Output so far:\n${context()}`)
    await new Promise((r) => setTimeout(r, every))
  }
}

const answer = async <A>(url: string, response: Response): Promise<A> => {
  if (!response.ok) throw new Error(`${url} answered ${response.status}: ${await response.text()}`)
  return await response.json() as A
}

export const postJson = async <A>(url: string, body: unknown): Promise<A> =>
  answer(url, await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) }))

export const getJson = async <A>(url: string): Promise<A> => answer(url, await fetch(url))
