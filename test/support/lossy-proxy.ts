/**
 * An HTTP proxy on 127.0.0.1 in front of a real server that can lose answers: a request it is told to drop is
 * forwarded and applied by the server, but the client's connection is cut before the answer reaches it.
 */
import { Effect } from "effect"
import * as http from "node:http"
import type { AddressInfo } from "node:net"

export interface LossyProxy {
  readonly url: string
  /** Requests seen so far, as `METHOD /path`. */
  readonly seen: Array<string>
  /** Answers passed on so far, as `METHOD /path STATUS`. */
  readonly answered: Array<string>
  /** Drops the answer of the next `count` requests matching `method` and a path ending in `suffix`. */
  readonly dropNext: (method: string, suffix: string, count?: number) => void
}

/** A proxy to `target` (e.g. `http://127.0.0.1:1234`), closed with the scope. */
export const lossyProxy = (target: string) =>
  Effect.acquireRelease(
    Effect.async<{ readonly proxy: LossyProxy; readonly server: http.Server }>((resume) => {
      const drops: Array<{ method: string; suffix: string; left: number }> = []
      const seen: Array<string> = []
      const answered: Array<string> = []
      const agent = new http.Agent({ keepAlive: true })
      const server = http.createServer((req, res) => {
        const path = req.url ?? "/"
        seen.push(`${req.method} ${path}`)
        const rule = drops.find((d) => d.left > 0 && d.method === req.method && path.split("?")[0]!.endsWith(d.suffix))
        if (rule) rule.left--
        const upstream = http.request(`${target}${path}`, { method: req.method, headers: req.headers, agent }, (answer) => {
          const chunks: Array<Buffer> = []
          answer.on("data", (c: Buffer) => chunks.push(c))
          answer.on("end", () => {
            // The server has answered (and committed): the client never hears of it.
            if (rule) return void req.socket.destroy()
            answered.push(`${req.method} ${path} ${answer.statusCode}`)
            res.writeHead(answer.statusCode ?? 502, answer.headers)
            res.end(Buffer.concat(chunks))
          })
        })
        upstream.on("error", () => req.socket.destroy())
        req.pipe(upstream)
      })
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address() as AddressInfo
        resume(Effect.succeed({
          server,
          proxy: {
            url: `http://127.0.0.1:${port}`,
            seen,
            answered,
            dropNext: (method, suffix, count = 1) => void drops.push({ method, suffix, left: count })
          }
        }))
      })
    }),
    ({ server }) => Effect.async<void>((resume) => {
      server.closeAllConnections()
      server.close(() => resume(Effect.void))
    })
  ).pipe(Effect.map(({ proxy }) => proxy))
