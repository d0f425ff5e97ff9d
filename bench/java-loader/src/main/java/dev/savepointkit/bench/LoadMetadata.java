package dev.savepointkit.bench;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.File;
import java.io.FileInputStream;
import org.apache.flink.runtime.checkpoint.Checkpoints;
import org.apache.flink.runtime.checkpoint.metadata.CheckpointMetadata;

/** Loads a _metadata file with Flink's own loader and prints its operator count. */
public final class LoadMetadata {
    public static void main(String[] args) throws Exception {
        File file = new File(args[0]);
        try (DataInputStream in =
                new DataInputStream(new BufferedInputStream(new FileInputStream(file), 1 << 16))) {
            CheckpointMetadata m =
                    Checkpoints.loadCheckpointMetadata(
                            in, LoadMetadata.class.getClassLoader(), file.getParent());
            System.out.println(m.getOperatorStates().size());
        }
    }
}
