#!/usr/bin/env node
/**
 * The `savepoint` executable: sizes libuv's thread pool, then runs the CLI (`main.ts`).
 *
 * The syncs of a durable local relocation (`fdatasync`, then the renames) and the writes of files
 * downloaded from S3 or HDFS run on libuv's thread pool, 4 threads by default. A sync holds a thread
 * while the disk writes the file, so with 4 threads at most 4 files are on their way to the disk;
 * `UV_THREADPOOL_SIZE` of {@link THREAD_POOL_SIZE} lets many proceed at once, as `sync` lets the kernel
 * write back everything together, and lets 16 downloads (`LOCAL_TARGET_CONCURRENCY`) write at once.
 * (The copies between local directories run on worker threads: `storage/local-fs-workers.ts`.)
 *
 * Why a CommonJS file: libuv reads `UV_THREADPOOL_SIZE` once, when the pool starts, and Node's ES module
 * loader reads module files through the pool, so the pool already runs before the first line of an ES
 * module entry point (`main.js`) executes. A CommonJS entry is read synchronously, so setting the
 * variable here, before the first asynchronous call, takes effect. A value the user set is kept.
 */

/** Threads of libuv's pool for a CLI run (libuv's default is 4, its maximum 1024). */
const THREAD_POOL_SIZE = "16";

process.env.UV_THREADPOOL_SIZE ??= THREAD_POOL_SIZE;

void import("./main.js").then((cli) => cli.main());
