/**
 * Orion's module graph as its sources write it, for the layout tests: a small reader of `import`/`export … from` lines
 * and literal `import("…")` calls (not the compiler: enough for this code base's style), and a finder of the cycles in it.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

/** The repository's root. */
export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..")

/** One import of one module by another. */
export interface ImportEdge {
  /** The imported module, as the source writes it. */
  readonly specifier: string
  /** `import type …` / `export type … from`: erased when compiled, but still a dependency of the design. */
  readonly typeOnly: boolean
  /** `import("…")`: loaded when that line runs, not when the importing module loads. */
  readonly dynamic: boolean
}

const staticImport = /^(?:import|export)\s+(type\s+)?(?:[^"';]*?\s+from\s+)?["']([^"']+)["']/gm
const dynamicImport = /\bimport\(\s*["']([^"']+)["']\s*\)/g

/** The imports a module's text makes: static ones (with type-only ones and re-exports), then literal dynamic ones. */
export const importsIn = (text: string): Array<ImportEdge> => [
  ...[...text.matchAll(staticImport)].map((m) => ({ specifier: m[2]!, typeOnly: m[1] !== undefined, dynamic: false })),
  ...[...text.matchAll(dynamicImport)].map((m) => ({ specifier: m[1]!, typeOnly: false, dynamic: true }))
]

/** The TypeScript files under `dir` (relative to the root), as root-relative paths with forward slashes. */
export const sourcesUnder = (dir: string): Array<string> =>
  fs.readdirSync(path.join(root, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourcesUnder(`${dir}/${e.name}`) : /\.tsx?$/.test(e.name) && !e.name.endsWith(".d.ts") ? [`${dir}/${e.name}`] : [])

/**
 * The file a relative `specifier` in `from` names: NodeNext's `./x.js` for `./x.ts`, or a bundler's `./x` (the UI);
 * undefined when no file answers — the reader misread a line, or the import is broken.
 */
export const resolveRelative = (from: string, specifier: string): string | undefined => {
  const base = path.posix.normalize(path.posix.join(path.posix.dirname(from), specifier))
  const stem = base.replace(/\.(m?js|jsx)$/, "")
  return [base, `${stem}.ts`, `${stem}.tsx`, `${base}.ts`, `${base}.tsx`, `${base}/index.ts`]
    .find((candidate) => fs.existsSync(path.join(root, candidate)) && fs.statSync(path.join(root, candidate)).isFile())
}

/** One module's imports of Orion's own files (relative specifiers), resolved to root-relative paths. */
export interface ResolvedImport extends ImportEdge {
  readonly from: string
  /** The imported file; undefined if it could not be found. */
  readonly to: string | undefined
}

/** Every relative import made by `files`, resolved. */
export const relativeImports = (files: ReadonlyArray<string>): Array<ResolvedImport> =>
  files.flatMap((from) =>
    importsIn(fs.readFileSync(path.join(root, from), "utf8"))
      .filter((edge) => edge.specifier.startsWith("."))
      .map((edge) => ({ ...edge, from, to: resolveRelative(from, edge.specifier) })))

/**
 * Every cycle of the graph, one per strongly connected part (Tarjan's algorithm), each written as a path that comes back
 * to where it started: `a → b → a`. A module that imports itself is a cycle too.
 */
export const findCycles = (graph: ReadonlyMap<string, ReadonlyArray<string>>): Array<string> => {
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: Array<string> = []
  const onStack = new Set<string>()
  const parts: Array<Array<string>> = []
  const visit = (node: string) => {
    index.set(node, index.size)
    low.set(node, index.get(node)!)
    stack.push(node)
    onStack.add(node)
    for (const next of graph.get(node) ?? []) {
      if (!index.has(next)) {
        visit(next)
        low.set(node, Math.min(low.get(node)!, low.get(next)!))
      } else if (onStack.has(next)) low.set(node, Math.min(low.get(node)!, index.get(next)!))
    }
    if (low.get(node) === index.get(node)) {
      const part: Array<string> = []
      let member: string
      do {
        member = stack.pop()!
        onStack.delete(member)
        part.push(member)
      } while (member !== node)
      if (part.length > 1 || (graph.get(node) ?? []).includes(node)) parts.push(part)
    }
  }
  for (const node of [...graph.keys()].sort()) if (!index.has(node)) visit(node)
  return parts.map((part) => cycleThrough(graph, new Set(part)))
}

/** The shortest way from the part's first module (in name order) back to itself, staying inside the part. */
const cycleThrough = (graph: ReadonlyMap<string, ReadonlyArray<string>>, part: ReadonlySet<string>): string => {
  const start = [...part].sort()[0]!
  const cameFrom = new Map<string, string>()
  const queue = [start]
  while (queue.length > 0) {
    const node = queue.shift()!
    for (const next of graph.get(node) ?? []) {
      if (!part.has(next)) continue
      if (next === start) {
        const trail = [node]
        while (trail[0] !== start) trail.unshift(cameFrom.get(trail[0]!)!)
        return [...trail, start].join(" → ")
      }
      if (!cameFrom.has(next)) {
        cameFrom.set(next, node)
        queue.push(next)
      }
    }
  }
  return [...part].join(" ↔ ")
}
