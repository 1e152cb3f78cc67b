/**
 * Builds the Solid dashboard into `ui/dist`, which `orion start` serves at `/`. The pages reach the API through the
 * route table `virtual:orion-api`, derived here (in Node) from the API definition: no Effect runs in the browser.
 */
import { fileURLToPath } from "node:url"
import { defineConfig } from "vite"
import solid from "vite-plugin-solid"
import { orionApiModule } from "./orion-api-module.js"

export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  plugins: [orionApiModule, solid()],
  build: { outDir: "dist", emptyOutDir: true, target: "es2022", chunkSizeWarningLimit: 2000 },
  // `npx vite ui` during development: the API of a running `orion start`.
  server: { proxy: { "/api": "http://127.0.0.1:4200" } }
})
