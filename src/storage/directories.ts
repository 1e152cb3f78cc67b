/**
 * Creating Orion's folders (private to their owner, 0700) one level at a time: Node's recursive `mkdir` never returns
 * for some paths (under `/proc`, say), which left a flow hanging; this fails with the first level that cannot be made.
 */
import * as fs from "node:fs"
import * as path from "node:path"

const code = (e: unknown) => (e as NodeJS.ErrnoException).code

/** `dir` exists: fine when it is a folder. */
const existingDirectory = (dir: string) => {
  if (!fs.statSync(dir).isDirectory()) throw Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${dir}'`), { code: "ENOTDIR" })
}

/** Makes `dir` and any missing parents (each 0700); nothing when it exists. Throws the error of the first level that cannot be made. */
export const makeDirectorySync = (dir: string): void => {
  try {
    fs.mkdirSync(dir, { mode: 0o700 })
  } catch (e) {
    if (code(e) === "EEXIST") return existingDirectory(dir)
    const parent = path.dirname(dir)
    if (code(e) !== "ENOENT" || parent === dir) throw e
    makeDirectorySync(parent)
    try {
      fs.mkdirSync(dir, { mode: 0o700 })
    } catch (again) {
      if (code(again) !== "EEXIST") throw again
    }
  }
}

/** `makeDirectorySync`, without blocking. */
export const makeDirectory = async (dir: string): Promise<void> => {
  try {
    await fs.promises.mkdir(dir, { mode: 0o700 })
  } catch (e) {
    if (code(e) === "EEXIST") return existingDirectory(dir)
    const parent = path.dirname(dir)
    if (code(e) !== "ENOENT" || parent === dir) throw e
    await makeDirectory(parent)
    await fs.promises.mkdir(dir, { mode: 0o700 }).catch((again) => {
      if (code(again) !== "EEXIST") throw again
    })
  }
}
