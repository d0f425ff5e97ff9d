#!/usr/bin/env node
/**
 * The `savepoint` executable: sizes libuv's thread pool, then runs the CLI (`main.ts`).
 *
 * Every file-system call of a local relocation (`copyFile`, `fdatasync`, `rename`, `stat`) runs on
 * libuv's thread pool, 4 threads by default. A durable local copy holds a thread in `fdatasync` while
 * the disk writes the file, so with 4 threads at most 4 files are on their way to the disk and copies
 * wait behind syncs; `UV_THREADPOOL_SIZE` of {@link THREAD_POOL_SIZE} lets all 16 parallel transfers
 * (relocate's default into a local directory, `LOCAL_TARGET_CONCURRENCY`) and their syncs proceed at
 * once, as `sync` lets the kernel write back everything together.
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
