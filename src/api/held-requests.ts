/**
 * The HTTP server `orion start` listens with. The platform's server listens first and attaches the application only
 * once every layer above it is built (on PostgreSQL the event feed's LISTEN connection, for one): a request arriving in
 * between would get no answer ever. This one holds such requests and hands them to the application once it is attached.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"

type Handler = (request: IncomingMessage, response: ServerResponse) => void

export const serverHoldingEarlyRequests = (): Server => {
  const server = createServer()
  let held: Array<[IncomingMessage, ServerResponse]> = []
  const hold: Handler = (request, response) => void held.push([request, response])
  server.on("request", hold)
  server.on("newListener", (event: string | symbol, listener: Handler) => {
    if (event !== "request" || listener === hold) return
    server.off("request", hold)
    // (Emitted before the listener is added: the held requests go to it on the next tick.)
    process.nextTick(() => {
      const early = held
      held = []
      for (const [request, response] of early) listener(request, response)
    })
  })
  return server
}
