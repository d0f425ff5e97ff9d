/**
 * For test/servers/cleanup.test.ts: `start-and-wait.ts <tmpdir> <server>...` points TMPDIR at `<tmpdir>`
 * (here, not in the environment, so that tsx's own cache stays where it was), starts the test servers
 * named (`hdfs`, `s3`), prints one JSON line `{"pids":[...],"scratch":[...]}` and waits until it is
 * stopped by a signal, so that the test can check what an interrupted test process leaves behind.
 */

import { startHdfsCluster } from "./hdfs-server.js";
import { startS3Server } from "./s3-server.js";

const [tmp, ...names] = process.argv.slice(2);
process.env.TMPDIR = tmp;
const servers = await Promise.all(
  names.map((name) => (name === "hdfs" ? startHdfsCluster() : startS3Server())),
);
process.stdout.write(
  `${JSON.stringify({ pids: servers.map((s) => s.pid), scratch: servers.map((s) => s.scratch) })}\n`,
);
// keep the process alive (the servers are unref'd) until a signal ends it
setInterval(() => {}, 1 << 30);
