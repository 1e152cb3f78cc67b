/**
 * Builds the Solid dashboard into `ui/dist`, which `orion start` serves at `/`. The pages reach the API through the
 * route table `virtual:orion-api`, derived here (in Node) from the API definition: no Effect runs in the browser.
 */
import { fileURLToPath } from "node:url"
import { defineConfig, type Plugin } from "vite"
import solid from "vite-plugin-solid"
import { orionApiModule } from "./orion-api-module.js"

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
  plugins: [orionApiModule, solid(), preloadChunks],
  build: { outDir: "dist", emptyOutDir: true, target: "es2022", chunkSizeWarningLimit: 2000 },
  // `npx vite ui` during development: the API of a running `orion start`.
  server: { proxy: { "/api": "http://127.0.0.1:4200" } }
})
