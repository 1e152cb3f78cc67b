/**
 * Builds the Solid dashboard into `ui/dist`, which `orion start` serves at `/`. The UI imports the API definition
 * (`src/api/api.ts`) itself, so the one module of it that reads Node's package.json is given the version at build time.
 */
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { defineConfig, type Plugin } from "vite"
import solid from "vite-plugin-solid"

const version = (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }).version

/** `src/api/version.ts` reads package.json through `node:module`; in the browser its value is fixed at build time. */
const versionInBrowser: Plugin = {
  name: "orion-version",
  enforce: "pre",
  resolveId(source, importer) {
    if (source === "./version.js" && importer !== undefined && importer.replaceAll("\\", "/").endsWith("/src/api/api.ts")) return "\0orion-version"
    return null
  },
  load(id) {
    return id === "\0orion-version" ? `export const orionVersion = ${JSON.stringify(version)}` : null
  }
}

/**
 * `src/domain/fast-parsers.ts` compiles quicker parsers for every route's Schemas when the API definition is imported:
 * worth it in a server or a client that parses thousands of answers, but in the browser it is most of the start-up
 * time (the page parses a few small answers). There Effect's own parsers — the same Schemas — are used.
 */
const noParserCompilation: Plugin = {
  name: "orion-no-parser-compilation",
  enforce: "pre",
  resolveId(source, importer) {
    if ((source === "./fast-parsers.js" || source === "../domain/fast-parsers.js") && importer?.replaceAll("\\", "/").includes("/src/")) return "\0orion-fast-parsers"
    return null
  },
  load(id) {
    return id === "\0orion-fast-parsers" ? "export const fastParsers = () => {}" : null
  }
}

/**
 * The shell (navigation, live status) is the entry chunk, free of Effect and the API definition; every page is a chunk
 * loaded when its route opens, and they share the chunk of the typed client. Left alone, the browser would ask for a
 * page's chunks only after the entry has run; this lists every other chunk in `index.html` as a `modulepreload`, so
 * they download and compile while the entry runs and the shell paints.
 */
const preloadChunks: Plugin = {
  name: "orion-preload-chunks",
  enforce: "post",
  transformIndexHtml: {
    order: "post",
    handler(_html, ctx) {
      const chunks = Object.values(ctx.bundle ?? {}).filter((c) => c.type === "chunk" && !c.isEntry)
        .sort((a, b) => (a.type === "chunk" && b.type === "chunk" ? b.code.length - a.code.length : 0))
      return chunks.map((c) => ({ tag: "link", attrs: { rel: "modulepreload", crossorigin: true, href: `/${c.fileName}` }, injectTo: "head" as const }))
    }
  }
}

export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  plugins: [versionInBrowser, noParserCompilation, solid(), preloadChunks],
  build: { outDir: "dist", emptyOutDir: true, target: "es2022", chunkSizeWarningLimit: 2000 },
  // `npx vite ui` during development: the API of a running `orion start`.
  server: { proxy: { "/api": "http://127.0.0.1:4200" } }
})
