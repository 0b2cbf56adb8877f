/**
 * A round-robin TCP splitter on loopback, as an L4 load balancer or a Kubernetes Service spreads
 * connections over replicas: each accepted connection is piped, bytes untouched, to the next target port.
 */
import { createServer, type Socket, connect } from "node:net"

export interface Splitter {
  readonly port: number
  /** Sends new connections to these ports from now on (connections already open stay where they are). */
  readonly setTargets: (ports: ReadonlyArray<number>) => void
  readonly close: () => Promise<void>
}

export const startSplitter = (targets: ReadonlyArray<number>): Promise<Splitter> =>
  new Promise((resolve, reject) => {
    let ports = [...targets]
    let next = 0
    const open = new Set<Socket>()
    const server = createServer((client) => {
      const port = ports[next++ % ports.length]!
      const upstream = connect({ port, host: "127.0.0.1", noDelay: true })
      client.setNoDelay(true)
      for (const socket of [client, upstream]) {
        open.add(socket)
        socket.on("close", () => open.delete(socket))
      }
      // Either side failing or ending takes the other with it.
      client.on("error", () => upstream.destroy())
      upstream.on("error", () => client.destroy())
      client.pipe(upstream)
      upstream.pipe(client)
    })
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      if (address === null || typeof address === "string") return reject(new Error("splitter: no port"))
      resolve({
        port: address.port,
        setTargets: (ports_) => {
          ports = [...ports_]
          next = 0
        },
        close: () =>
          new Promise((done) => {
            for (const socket of open) socket.destroy()
            server.close(() => done())
          })
      })
    })
  })
