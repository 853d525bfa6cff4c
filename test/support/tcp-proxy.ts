// A TCP proxy on 127.0.0.1 that can be shut and reopened on the same port: a database that goes away and comes back.

import { createConnection, createServer, type Server, type Socket } from "node:net";

export interface TcpProxy {
  /** The port clients connect to; the same after reopening. */
  readonly port: number;
  /** Refuses new connections and cuts the open ones, as a server that went down. */
  shut(): Promise<void>;
  /** Accepts connections again on the same port. */
  reopen(): Promise<void>;
  /** Shuts it for good. */
  close(): Promise<void>;
}

/** Forwards every connection on a free local port to `targetHost:targetPort`. */
export async function startTcpProxy(targetPort: number, targetHost = "127.0.0.1"): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    // A cut connection is the point of this proxy, not an error.
    socket.on("error", () => {});
  };
  const server: Server = createServer((client) => {
    const upstream = createConnection({ host: targetHost, port: targetPort });
    track(client);
    track(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => {
        server.off("error", reject);
        resolve();
      });
    });
  await listen(0);
  const port = (server.address() as { port: number }).port;
  let open = true;
  const shut = async () => {
    if (!open) return;
    open = false;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of sockets) socket.destroy();
    await closed;
  };
  return {
    port,
    shut,
    async reopen() {
      if (open) return;
      await listen(port);
      open = true;
    },
    close: shut,
  };
}
