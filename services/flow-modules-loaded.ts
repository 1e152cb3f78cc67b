/**
 * The flow modules a reused executor process has imported, each with what its file held when it was loaded, so that a
 * later run of a changed module is refused (stale) rather than run on the code this process still holds. Only each
 * flow module's own file is compared: the modules it imports are not (Node keeps them loaded, unchanged, too).
 */
import { createHash } from "node:crypto"
import { readFileSync, statSync } from "node:fs"
import * as path from "node:path"

/** What a module's file held: its content's hash, with its size and modification time to skip re-hashing. */
interface Fingerprint {
  readonly size: number
  readonly mtimeMs: number
  readonly sha256: string
}

const read = (file: string): Fingerprint | undefined => {
  try {
    const stat = statSync(file)
    return { size: stat.size, mtimeMs: stat.mtimeMs, sha256: createHash("sha256").update(readFileSync(file)).digest("hex") }
  } catch {
    return undefined
  }
}

export class LoadedFlowModules {
  private readonly loaded = new Map<string, Fingerprint | undefined>()

  /** Records `file` as about to be imported now (taken before the import: a change meanwhile reads as stale, never as fresh). */
  recordLoad(file: string): void {
    const absolute = path.resolve(file)
    if (!this.loaded.has(absolute)) this.loaded.set(absolute, read(absolute))
  }

  /** Why this process must not run `file`'s flow again (it changed since it was loaded here), or undefined. */
  staleReason(file: string): string | undefined {
    const absolute = path.resolve(file)
    if (!this.loaded.has(absolute)) return undefined
    const then = this.loaded.get(absolute)
    let now: ReturnType<typeof statSync>
    try {
      now = statSync(absolute)
    } catch {
      // gone: a fresh process will say so, ending the run Failed with the reason
      return `${absolute} is no longer readable since this executor loaded it`
    }
    if (then === undefined) return `${absolute} could not be read when this executor loaded it`
    if (now.size === then.size && now.mtimeMs === then.mtimeMs) return undefined
    const current = read(absolute)
    if (current !== undefined && current.sha256 === then.sha256) {
      // touched, not changed: the code loaded is still what the file holds
      this.loaded.set(absolute, current)
      return undefined
    }
    return `${absolute} changed on disk since this executor loaded it`
  }
}
