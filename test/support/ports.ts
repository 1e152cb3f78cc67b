/** A free TCP port on 127.0.0.1, for servers the tests start as child processes. */
import * as net from "node:net"

export const freePort = (): Promise<number> =>
  new Promise<number>((resolve, reject) => {
    const server = net.createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })
