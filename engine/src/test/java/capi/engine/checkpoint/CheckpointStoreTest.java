package capi.engine.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import capi.engine.NamedTensor;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CheckpointStoreTest {
  @TempDir Path tmp;

  private static List<NamedTensor> tensors(long seed) {
    Random r = new Random(seed);
    List<NamedTensor> out = new ArrayList<>();
    int[][] shapes = {{3, 5}, {7}, {2, 3, 4, 1}, {1}};
    for (int i = 0; i < shapes.length; i++) {
      int n = 1;
      for (int s : shapes[i]) n *= s;
      float[] d = new float[n];
      for (int j = 0; j < n; j++) d[j] = (float) r.nextGaussian();
      d[0] = i == 2 ? Float.NaN : d[0];
      out.add(new NamedTensor("student/backbone.blocks." + i + ".weight", shapes[i], d));
    }
    return out;
  }

  @Test
  void safetensorsRoundTripIsBitIdentical() throws IOException {
    Path f = tmp.resolve("t.safetensors");
    List<NamedTensor> in = tensors(1);
    SafeTensors.write(f, in, Map.of("step", "12"));
    Map<String, NamedTensor> out = SafeTensors.read(f);
    assertEquals(in.size(), out.size());
    for (NamedTensor t : in) {
      NamedTensor o = out.get(t.name());
      assertArrayEquals(t.shape(), o.shape(), t.name());
      for (int i = 0; i < t.data().length; i++) {
        assertEquals(Float.floatToRawIntBits(t.data()[i]), Float.floatToRawIntBits(o.data()[i]));
      }
    }
    assertEquals("12", SafeTensors.metadata(f).get("step"));
    assertEquals(0, (Files.size(f) - 4L * (15 + 7 + 24 + 1)) % 8, "header padded to 8 bytes");
  }

  @Test
  void truncatedSafetensorsIsAClearError() throws IOException {
    Path f = tmp.resolve("t.safetensors");
    SafeTensors.write(f, tensors(2), Map.of());
    try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
      raf.setLength(raf.length() - 10);
    }
    IOException e = assertThrows(IOException.class, () -> SafeTensors.read(f));
    assertTrue(e.getMessage().contains("damaged safetensors file"), e.getMessage());
  }

  private static Path write(CheckpointStore store, long step) throws IOException {
    try (CheckpointStore.Pending p = store.begin(step)) {
      SafeTensors.write(p.dir().resolve("model.safetensors"), tensors(step), Map.of());
      Files.writeString(p.dir().resolve("state.json"), "{\"step\":" + step + "}");
      return p.commit();
    }
  }

  @Test
  void latestIsNewestAndOldOnesArePruned() throws IOException {
    CheckpointStore store = new CheckpointStore(tmp, 2, w -> {});
    write(store, 10);
    write(store, 20);
    write(store, 30);
    assertEquals(30, store.latestValid().orElseThrow().step());
    assertFalse(Files.exists(tmp.resolve("step-00000010")));
    assertTrue(Files.exists(tmp.resolve("step-00000020")));
    assertEquals("step-00000030", Files.readString(tmp.resolve("LATEST")).trim());
  }

  @Test
  void damagedLatestFallsBackToPreviousWithWarning() throws IOException {
    List<String> warnings = new ArrayList<>();
    CheckpointStore store = new CheckpointStore(tmp, 3, warnings::add);
    write(store, 10);
    Path newest = write(store, 20);
    try (RandomAccessFile raf = new RandomAccessFile(newest.resolve("model.safetensors").toFile(), "rw")) {
      raf.seek(raf.length() - 3);
      raf.write(new byte[] {1, 2, 3});
    }
    CheckpointStore.Checkpoint c = store.latestValid().orElseThrow();
    assertEquals(10, c.step());
    assertEquals(1, warnings.size());
    assertTrue(warnings.get(0).contains("step-00000020") && warnings.get(0).contains("checksum"), warnings.get(0));
  }

  @Test
  void interruptedWriteLeavesPreviousCheckpoint() throws IOException {
    CheckpointStore store = new CheckpointStore(tmp, 3, w -> {});
    write(store, 10);
    try (CheckpointStore.Pending p = store.begin(20)) {
      Files.writeString(p.dir().resolve("state.json"), "{}");
      // no commit: as if the process died here
    }
    // A leftover temp dir of a killed process and a step dir without manifest are ignored too.
    Files.createDirectories(tmp.resolve(".tmp-step-00000030-99999"));
    Files.createDirectories(tmp.resolve("step-00000040"));
    assertEquals(10, store.latestValid().orElseThrow().step());
  }

  @Test
  void emptyDirectoryHasNoCheckpoint() throws IOException {
    assertTrue(new CheckpointStore(tmp.resolve("none"), 1, w -> {}).latestValid().isEmpty());
  }
}
