/**
 * A real HDFS for the tests: Hadoop's MiniDFSCluster (one NameNode, one DataNode, WebHDFS and permissions
 * on, 127.0.0.1 only), run by the Java launcher in `test/servers/hdfs-launcher/` that
 * `scripts/install-test-servers.sh` builds (`target/classes` + `target/classpath.txt`).
 *
 * The launcher prints `{"event":"ready",...}` on stdout, then takes commands on stdin (`stopDataNode`,
 * `restartDataNode`, `ping`) and answers each with a JSON line; it exits when stdin closes.
 *
 * Everything the cluster writes stays in the server's scratch directory (see `spawnServer`): the
 * MiniDFSCluster base directory (`<scratch>/dfs`, which the launcher deletes when it shuts down) and the
 * JVM's `java.io.tmpdir` (`<scratch>/tmp`, where Jetty unpacks the NameNode's and DataNode's web apps).
 * `stop()` removes the directory after the JVM exited.
 */

import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { spawnServer } from "./process.js";

const LAUNCHER_DIR = resolve("test/servers/hdfs-launcher");

/** A running MiniDFSCluster. */
export interface HdfsTestCluster {
  /** NameNode RPC port (the `port` of `hdfs://127.0.0.1:<port>/` URIs). */
  nameNodeRpcPort: number;
  /** NameNode HTTP (WebHDFS) port. */
  nameNodeHttpPort: number;
  /** `http://127.0.0.1:<nameNodeHttpPort>`. */
  webHdfsUrl: string;
  /** The HDFS block size the cluster uses, in bytes. */
  blockSize: number;
  /** LISTSTATUS_BATCH page size (`dfs.ls.limit`). */
  lsLimit: number;
  /** The HDFS superuser (the OS user running the cluster). */
  superuser: string;
  /** Process id of the cluster's JVM (the leader of its process group). */
  pid: number;
  /** The cluster's scratch directory (see `spawnServer`); gone after `stop()`. */
  scratch: string;
  /** Sends a launcher command and waits for its reply (`stopDataNode`, `restartDataNode`, `ping`). */
  command(cmd: "stopDataNode" | "restartDataNode" | "ping", timeoutMs?: number): Promise<void>;
  /** Shuts the cluster down, stops the JVM's process tree and removes the cluster's scratch directory. */
  stop(): Promise<void>;
}

/** Options of {@link startHdfsCluster}. */
export interface HdfsClusterOptions {
  /** HDFS block size in bytes (default 256 KiB, so small test files span several blocks). */
  blockSize?: number;
  /** LISTSTATUS_BATCH page size (default 1000). */
  lsLimit?: number;
  /** Milliseconds to wait for the cluster (default 120 000). */
  timeoutMs?: number;
}

/** Starts a MiniDFSCluster; throws (with the JVM's stderr tail) when it is not up in time. */
export async function startHdfsCluster(options: HdfsClusterOptions = {}): Promise<HdfsTestCluster> {
  const classpathFile = join(LAUNCHER_DIR, "target/classpath.txt");
  if (!existsSync(classpathFile)) {
    throw new Error(
      `${classpathFile} is missing: run 'bash scripts/install-test-servers.sh' (npm test does it in pretest)`,
    );
  }
  const classpath = `${join(LAUNCHER_DIR, "target/classes")}:${readFileSync(classpathFile, "utf8").trim()}`;
  const args = (scratch: string) => [
    "-Xmx512m",
    "-XX:+UseSerialGC",
    "-XX:TieredStopAtLevel=1",
    "-Djava.net.preferIPv4Stack=true",
    `-Djava.io.tmpdir=${join(scratch, "tmp")}`,
    // Hadoop 3.4's JAXB/Jersey (WebHDFS) reflects into java.base on Java 17.
    "--add-opens=java.base/java.lang=ALL-UNNAMED",
    "--add-opens=java.base/java.util=ALL-UNNAMED",
    "--add-opens=java.base/java.nio=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
    "-cp",
    classpath,
    "dev.savepointkit.testservers.HdfsLauncher",
    "--base-dir",
    join(scratch, "dfs"),
    "--block-size",
    String(options.blockSize ?? 256 * 1024),
    "--ls-limit",
    String(options.lsLimit ?? 1000),
  ];
  const server = spawnServer("java", args, { stdout: "pipe" });
  const child = server.child;
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const waiting: ((msg: Record<string, unknown>) => void)[] = [];
  let ready: ((msg: Record<string, unknown>) => void) | undefined;
  lines.on("line", (line) => {
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return; // not ours
    }
    if (msg.event === "ready") ready?.(msg);
    else if (msg.event === "reply") waiting.shift()?.(msg);
  });
  const timeoutMs = options.timeoutMs ?? 120_000;
  let info: Record<string, unknown>;
  try {
    info = await new Promise<Record<string, unknown>>((resolveReady, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`MiniDFSCluster not ready after ${timeoutMs} ms`)),
        timeoutMs,
      );
      ready = (msg) => {
        clearTimeout(timer);
        resolveReady(msg);
      };
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`MiniDFSCluster launcher exited with code ${code}`));
      });
      child.once("error", (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${await server.stop()}`);
  }
  const nameNodeHttpPort = info.nameNodeHttpPort as number;
  return {
    nameNodeRpcPort: info.nameNodeRpcPort as number,
    nameNodeHttpPort,
    webHdfsUrl: `http://127.0.0.1:${nameNodeHttpPort}`,
    blockSize: info.blockSize as number,
    lsLimit: info.lsLimit as number,
    superuser: info.superuser as string,
    pid: child.pid as number,
    scratch: server.scratch,
    command(cmd, cmdTimeoutMs = 60_000) {
      return new Promise<void>((resolveCmd, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`launcher command ${cmd}: no reply in ${cmdTimeoutMs} ms`)),
          cmdTimeoutMs,
        );
        waiting.push((msg) => {
          clearTimeout(timer);
          if (msg.ok === true) resolveCmd();
          else reject(new Error(`launcher command ${cmd} failed: ${String(msg.error)}`));
        });
        child.stdin?.write(`${cmd}\n`);
      });
    },
    async stop() {
      lines.close();
      // Closing stdin shuts the cluster down cleanly (Jetty removes its work directories, the launcher
      // the base directory); a signal is the fallback when that takes too long.
      if (child.exitCode === null && child.signalCode === null) {
        let timer: NodeJS.Timeout | undefined;
        const exited = new Promise<void>((r) => {
          child.once("exit", () => r());
          timer = setTimeout(r, 20_000);
        });
        child.stdin?.end();
        await exited;
        clearTimeout(timer);
      }
      await server.stop(10_000);
    },
  };
}
