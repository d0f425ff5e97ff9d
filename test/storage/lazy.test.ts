import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { describe, it } from "node:test";
import { createDefaultRegistry, HDFS_CAPABILITIES, S3_CAPABILITIES } from "../../src/storage/defaults.js";
import { HdfsStore } from "../../src/storage/hdfs.js";
import { LazyStore } from "../../src/storage/lazy.js";
import { S3Store } from "../../src/storage/s3.js";

describe("lazily loaded stores", () => {
  it("declare what the real stores declare", () => {
    const s3 = new S3Store({ region: "us-east-1", endpoint: "http://127.0.0.1:1" });
    const hdfs = new HdfsStore({});
    assert.deepEqual(S3_CAPABILITIES, s3.capabilities);
    assert.deepEqual(HDFS_CAPABILITIES, hdfs.capabilities);
    const reg = createDefaultRegistry();
    assert.deepEqual([...reg.storeFor("s3://b/k").schemes], [...s3.schemes]);
    assert.deepEqual([...reg.storeFor("hdfs://nn:1/x").schemes], [...hdfs.schemes]);
    assert.deepEqual(reg.storeFor("s3a://b/k").capabilities, s3.capabilities);
  });

  it("load the real store once, on first use, and delegate to it", async () => {
    let loads = 0;
    const files = new Map([["mem:///a", Uint8Array.of(1, 2, 3)]]);
    const lazy = new LazyStore(["mem"], S3_CAPABILITIES, async () => {
      loads++;
      const { LocalStore } = await import("../../src/storage/local.js");
      const real = new LocalStore();
      return Object.assign(Object.create(real), {
        stat: async (uri: string) => (files.has(uri) ? { uri, size: files.get(uri)?.byteLength ?? 0 } : null),
        readAll: async (uri: string) => files.get(uri) as Uint8Array,
        createReadStream: (uri: string) => Readable.from([Buffer.from(files.get(uri) as Uint8Array)]),
      });
    });
    assert.equal(loads, 0);
    assert.equal((await lazy.stat("mem:///a"))?.size, 3);
    assert.deepEqual([...(await lazy.readAll("mem:///a"))], [1, 2, 3]);
    const chunks: Buffer[] = [];
    for await (const c of lazy.createReadStream("mem:///a")) chunks.push(c as Buffer);
    assert.deepEqual([...Buffer.concat(chunks)], [1, 2, 3]);
    assert.equal(loads, 1);
  });

  it("surface a failed load as an error of the call, and of the stream", async () => {
    const lazy = new LazyStore(["x"], S3_CAPABILITIES, async () => {
      throw new Error("no SDK");
    });
    await assert.rejects(lazy.stat("x:///a"), /no SDK/);
    await assert.rejects(async () => {
      for await (const _ of lazy.createReadStream("x:///a")) {
        // no data expected
      }
    }, /no SDK/);
  });
});
