/**
 * Builds the Solid dashboard into `ui/dist`, which `orion start` serves at `/`. The pages reach the API through the
 * route table `virtual:orion-api`, derived here (in Node) from the API definition: no Effect runs in the browser.
 */
import { fileURLToPath } from "node:url"
import { build, defineConfig, type Plugin } from "vite"
import solid from "vite-plugin-solid"
import { orionApiModule } from "./orion-api-module.js"

/**
 * `src/first-requests-entry.ts`, bundled on its own (the typed client, the route table, the flow-runs query: ~10 kB) and
 * inlined first in `<head>`: it runs while the HTML is parsed, so the opened page's first requests leave before the
 * bundle and the stylesheet have even been asked for.
 */
const firstRequestsInline = (): Plugin => {
  let code: Promise<string> | undefined
  const bundle = async () => {
    const output = await build({
      configFile: false,
      logLevel: "silent",
      plugins: [orionApiModule],
      build: {
        write: false, minify: true, target: "es2022", emptyOutDir: false,
        lib: { entry: fileURLToPath(new URL("src/first-requests-entry.ts", import.meta.url)), formats: ["iife"], name: "orionFirstRequests" }
      }
    })
    const chunk = (Array.isArray(output) ? output[0]! : output as { output: ReadonlyArray<{ type: string }> }).output.find((c) => c.type === "chunk")
    if (chunk === undefined || !("code" in chunk) || typeof chunk.code !== "string") throw new Error("first-requests-entry.ts built to nothing")
    // Inline in HTML: a `</script>` inside a string would end the element.
    return chunk.code.replaceAll("</script", "<\\/script")
  }
  return {
    name: "orion-first-requests-inline",
    transformIndexHtml: {
      order: "post",
      handler: async () => [{ tag: "script", children: await (code ??= bundle()), injectTo: "head-prepend" as const }]
    }
  }
}

export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  plugins: [orionApiModule, solid(), firstRequestsInline()],
  build: { outDir: "dist", emptyOutDir: true, target: "es2022", chunkSizeWarningLimit: 2000 },
  // `npx vite ui` during development: the API of a running `orion start`.
  server: { proxy: { "/api": "http://127.0.0.1:4200" } }
})
