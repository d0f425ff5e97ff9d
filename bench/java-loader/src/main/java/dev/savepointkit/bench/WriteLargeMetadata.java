package dev.savepointkit.bench;

import java.io.BufferedOutputStream;
import java.io.DataOutputStream;
import java.io.FileOutputStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.flink.core.fs.Path;
import org.apache.flink.runtime.checkpoint.Checkpoints;
import org.apache.flink.runtime.checkpoint.OperatorState;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.runtime.checkpoint.metadata.CheckpointMetadata;
import org.apache.flink.runtime.jobgraph.OperatorID;
import org.apache.flink.runtime.state.IncrementalKeyedStateHandle.HandleAndLocalPath;
import org.apache.flink.runtime.state.IncrementalRemoteKeyedStateHandle;
import org.apache.flink.runtime.state.KeyGroupRange;
import org.apache.flink.runtime.state.OperatorStateHandle;
import org.apache.flink.runtime.state.OperatorStreamStateHandle;
import org.apache.flink.runtime.state.StateHandleID;
import org.apache.flink.runtime.state.filesystem.FileStateHandle;

/**
 * Writes the benchmark's synthetic {@code _metadata} of a large job with Flink's own serializer
 * ({@code Checkpoints.storeCheckpointMetadata}, metadata V6 in Flink 2.3): {@code operators}
 * operators at {@code parallelism}, each subtask with an incremental RocksDB handle over
 * {@code sharedFiles} shared SST files on S3, 3 private files and a meta file, plus operator list
 * state. bench/large-metadata.ts builds the same model with our writer; the benchmark checks both
 * give the same bytes.
 *
 * <p>Usage: {@code WriteLargeMetadata <out-file> <operators> [parallelism=128] [sharedFiles=24]}
 */
public final class WriteLargeMetadata {
    private static final String BASE = "s3://flink-prod-checkpoints/jobs/6c1e0f9b2a3d4e5f8a7b6c5d4e3f2a1b";

    public static void main(String[] args) throws Exception {
        String out = args[0];
        int operators = Integer.parseInt(args[1]);
        int parallelism = args.length > 2 ? Integer.parseInt(args[2]) : 128;
        int sharedFiles = args.length > 3 ? Integer.parseInt(args[3]) : 24;
        List<OperatorState> states = new ArrayList<>();
        for (int o = 0; o < operators; o++) {
            OperatorState op =
                    new OperatorState(
                            "operator-" + o, "uid-" + o, new OperatorID(o + 1, 0xabcdefL), parallelism, 32768);
            int keyGroupsPerSubtask = 32768 / parallelism;
            for (int s = 0; s < parallelism; s++) {
                List<HandleAndLocalPath> shared = new ArrayList<>();
                for (int k = 0; k < sharedFiles; k++) {
                    shared.add(HandleAndLocalPath.of(file(o, s, k), String.format("%06d.sst", 1000 + k)));
                }
                List<HandleAndLocalPath> priv = new ArrayList<>();
                String[] names = {"MANIFEST-000004", "OPTIONS-000007", "CURRENT"};
                for (int k = 0; k < names.length; k++) {
                    priv.add(HandleAndLocalPath.of(file(o, s, 100 + k), names[k]));
                }
                IncrementalRemoteKeyedStateHandle keyed =
                        IncrementalRemoteKeyedStateHandle.restore(
                                UUID.fromString(uuid(o, s + 7)),
                                KeyGroupRange.of(s * keyGroupsPerSubtask, (s + 1) * keyGroupsPerSubtask - 1),
                                42L,
                                shared,
                                priv,
                                new FileStateHandle(new Path(BASE + "/chk-42/" + uuid(o, s + 9)), 4096L),
                                1024L * 1024L,
                                new StateHandleID(uuid(o, s + 11)));
                Map<String, OperatorStateHandle.StateMetaInfo> meta = new HashMap<>();
                meta.put(
                        "SourceReaderState",
                        new OperatorStateHandle.StateMetaInfo(
                                new long[] {0L, 120L}, OperatorStateHandle.Mode.SPLIT_DISTRIBUTE));
                OperatorStreamStateHandle operatorState =
                        new OperatorStreamStateHandle(
                                meta, new FileStateHandle(new Path(BASE + "/chk-42/" + uuid(o, s)), 240L));
                op.putState(
                        s,
                        OperatorSubtaskState.builder()
                                .setManagedOperatorState(operatorState)
                                .setManagedKeyedState(keyed)
                                .build());
            }
            states.add(op);
        }
        CheckpointMetadata metadata = new CheckpointMetadata(42L, states, new ArrayList<>());
        try (DataOutputStream dos =
                new DataOutputStream(new BufferedOutputStream(new FileOutputStream(out), 1 << 16))) {
            Checkpoints.storeCheckpointMetadata(metadata, dos);
        }
    }

    private static FileStateHandle file(int o, int s, int k) {
        return new FileStateHandle(
                new Path(BASE + "/shared/op-" + o + "-" + s + "/" + uuid(o * 1000 + s, k)), 64L * 1024 * 1024 + k);
    }

    private static String uuid(long a, long b) {
        String h = String.format("%016x%016x", a, b);
        return h.substring(0, 8) + "-" + h.substring(8, 12) + "-" + h.substring(12, 16) + "-"
                + h.substring(16, 20) + "-" + h.substring(20, 32);
    }
}
