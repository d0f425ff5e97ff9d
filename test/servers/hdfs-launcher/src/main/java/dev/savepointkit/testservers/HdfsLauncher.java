package dev.savepointkit.testservers;

import java.io.BufferedReader;
import java.io.File;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.permission.FsPermission;
import org.apache.hadoop.hdfs.HdfsConfiguration;
import org.apache.hadoop.hdfs.MiniDFSCluster;

/**
 * Starts a single-datanode MiniDFSCluster on 127.0.0.1 with WebHDFS and permissions enabled, for
 * savepoint-kit's storage tests.
 *
 * <p>Arguments (all optional): {@code --base-dir DIR} (the MiniDFSCluster base directory; default: a
 * fresh directory {@code minidfs-*} under {@code java.io.tmpdir}; either way deleted on shutdown),
 * {@code --block-size BYTES} (default 262144, so small test files span several blocks),
 * {@code --ls-limit N} (LISTSTATUS_BATCH page size, {@code dfs.ls.limit}; default 1000).
 *
 * <p>Protocol: when the cluster is up it prints one JSON line on stdout:
 * {@code {"event":"ready","nameNodeRpcPort":..,"nameNodeHttpPort":..,"blockSize":..,"superuser":".."}}.
 * Then it reads commands, one a line, on stdin and answers each with one JSON line:
 * {@code stopDataNode}, {@code restartDataNode}, {@code ping}. It shuts the cluster down and exits
 * when stdin closes, on {@code shutdown}, or on SIGTERM. Shutting down is done once: a SIGTERM that
 * arrives while stdin's close is already shutting the cluster down waits for it to finish (the JVM
 * would otherwise halt half-way and leave the base directory and Jetty's work directories behind).
 */
public final class HdfsLauncher {
  private static final PrintStream OUT = new PrintStream(System.out, true, StandardCharsets.UTF_8);

  private HdfsLauncher() {}

  public static void main(String[] args) throws Exception {
    String baseDir = null;
    long blockSize = 256 * 1024;
    int lsLimit = 1000;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--base-dir" -> baseDir = args[++i];
        case "--block-size" -> blockSize = Long.parseLong(args[++i]);
        case "--ls-limit" -> lsLimit = Integer.parseInt(args[++i]);
        default -> throw new IllegalArgumentException("unknown argument: " + args[i]);
      }
    }
    Path base = baseDir == null ? Files.createTempDirectory("minidfs-") : Path.of(baseDir);

    Configuration conf = new HdfsConfiguration();
    conf.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, base.toAbsolutePath().toString());
    conf.setLong("dfs.blocksize", blockSize);
    conf.setLong("dfs.namenode.fs-limits.min-block-size", 0);
    conf.setInt("dfs.bytes-per-checksum", 512);
    conf.setInt("dfs.replication", 1);
    conf.setBoolean("dfs.permissions.enabled", true);
    conf.setBoolean("dfs.webhdfs.enabled", true);
    conf.setInt("dfs.ls.limit", lsLimit);
    conf.set("dfs.namenode.http-address", "127.0.0.1:0");
    conf.set("dfs.datanode.hostname", "127.0.0.1");
    conf.set("hadoop.security.authentication", "simple");
    // Fail fast when the datanode is gone, rather than retrying for minutes.
    conf.setInt("dfs.client.block.write.retries", 1);
    conf.setInt("dfs.client.max.block.acquire.failures", 1);
    conf.setInt("ipc.client.connect.max.retries", 1);

    MiniDFSCluster cluster =
        new MiniDFSCluster.Builder(conf)
            .numDataNodes(1)
            .nameNodePort(0)
            .nameNodeHttpPort(0)
            .checkDataNodeHostConfig(true)
            .build();
    AtomicBoolean down = new AtomicBoolean(false);
    // synchronized: the second caller (the shutdown hook on SIGTERM) waits until the first is done
    Runnable shutdown =
        () -> {
          synchronized (down) {
            if (down.compareAndSet(false, true)) {
              try {
                cluster.shutdown(true);
              } catch (Throwable t) {
                t.printStackTrace();
              }
              deleteTree(base.toFile());
            }
          }
        };
    Runtime.getRuntime().addShutdownHook(new Thread(shutdown));
    cluster.waitActive();

    // Let every test user create its own directories under the root.
    FileSystem fs = cluster.getFileSystem();
    fs.setPermission(new org.apache.hadoop.fs.Path("/"), new FsPermission((short) 0777));

    InetSocketAddress http = cluster.getNameNode().getHttpAddress();
    OUT.println(
        "{\"event\":\"ready\",\"nameNodeRpcPort\":"
            + cluster.getNameNodePort()
            + ",\"nameNodeHttpPort\":"
            + http.getPort()
            + ",\"blockSize\":"
            + blockSize
            + ",\"lsLimit\":"
            + lsLimit
            + ",\"superuser\":\""
            + System.getProperty("user.name")
            + "\"}");

    MiniDFSCluster.DataNodeProperties stopped = null;
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    String line;
    while ((line = in.readLine()) != null) {
      String cmd = line.trim();
      if (cmd.isEmpty()) continue;
      try {
        switch (cmd) {
          case "ping" -> reply(cmd, true, null);
          case "stopDataNode" -> {
            if (stopped == null) stopped = cluster.stopDataNode(0);
            reply(cmd, true, null);
          }
          case "restartDataNode" -> {
            if (stopped != null) {
              cluster.restartDataNode(stopped, true);
              stopped = null;
              cluster.waitActive();
            }
            reply(cmd, true, null);
          }
          case "shutdown" -> {
            reply(cmd, true, null);
            shutdown.run();
            System.exit(0);
          }
          default -> reply(cmd, false, "unknown command");
        }
      } catch (Exception e) {
        reply(cmd, false, String.valueOf(e));
      }
    }
    shutdown.run();
    System.exit(0);
  }

  private static void reply(String cmd, boolean ok, String error) {
    StringBuilder sb = new StringBuilder("{\"event\":\"reply\",\"command\":\"").append(cmd).append('"');
    sb.append(",\"ok\":").append(ok);
    if (error != null) sb.append(",\"error\":\"").append(error.replace("\\", "\\\\").replace("\"", "\\\"")).append('"');
    OUT.println(sb.append('}'));
  }

  private static void deleteTree(File f) {
    File[] children = f.listFiles();
    if (children != null) for (File c : children) deleteTree(c);
    f.delete();
  }
}
