/**
 * A loopback TCP proxy for fault tests: forwards 127.0.0.1:<port> to a target port, and can cut every
 * open connection (a server that dies mid-transfer) or refuse new ones (a server that stays down).
 */

import { connect, createServer, type Server, type Socket } from "node:net";

export interface TcpProxy {
  /** The proxy's port on 127.0.0.1. */
  port: number;
  /** Bytes forwarded from the target to clients so far. */
  readonly bytesDown: number;
  /** Bytes forwarded from clients to the target so far. */
  readonly bytesUp: number;
  /** Connections accepted (and forwarded) so far. */
  readonly connections: number;
  /** Destroys every open connection (both sides). */
  cutAll(): void;
  /** While down, new connections are closed at once. */
  setDown(down: boolean): void;
  /** Calls `fn` once, after `threshold` more bytes have been forwarded in `direction`. */
  onBytes(direction: "up" | "down", threshold: number, fn: () => void): void;
  close(): Promise<void>;
}

/** Starts a proxy to `127.0.0.1:targetPort`. */
export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let down = false;
  let bytesDown = 0;
  let bytesUp = 0;
  let connections = 0;
  const watchers: { direction: "up" | "down"; threshold: number; fn: () => void }[] = [];
  const check = () => {
    for (let i = watchers.length - 1; i >= 0; i--) {
      const w = watchers[i];
      if (w && (w.direction === "up" ? bytesUp : bytesDown) >= w.threshold) {
        watchers.splice(i, 1);
        w.fn();
      }
    }
  };
  const server: Server = createServer((client) => {
    if (down) {
      client.destroy();
      return;
    }
    connections++;
    const upstream = connect(targetPort, "127.0.0.1");
    sockets.add(client);
    sockets.add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on("error", drop).on("close", drop);
    upstream.on("error", drop).on("close", drop);
    client.on("data", (d: Buffer) => {
      bytesUp += d.length;
      if (!upstream.write(d)) client.pause();
      check();
    });
    upstream.on("drain", () => client.resume());
    upstream.on("data", (d: Buffer) => {
      bytesDown += d.length;
      if (!client.write(d)) upstream.pause();
      check();
    });
    client.on("drain", () => upstream.resume());
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : 0;
  return {
    port,
    get bytesDown() {
      return bytesDown;
    },
    get bytesUp() {
      return bytesUp;
    },
    get connections() {
      return connections;
    },
    cutAll() {
      for (const s of sockets) s.destroy();
      sockets.clear();
    },
    setDown(value: boolean) {
      down = value;
    },
    onBytes(direction, threshold, fn) {
      watchers.push({ direction, threshold: (direction === "up" ? bytesUp : bytesDown) + threshold, fn });
    },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}
