package capi.engine.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import capi.config.ModelConfig;
import capi.config.OptimConfig;
import capi.engine.CapiTrainer;
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

  private Path write(CheckpointStore store, long step) throws IOException {
    Path config = tmp.resolve("config.conf");
    if (!Files.exists(config)) Files.writeString(config, "capi { train { steps = 100 } }\n");
    try (CheckpointStore.Pending p = store.begin(step)) {
      SafeTensors.write(p.dir().resolve(CheckpointStore.MODEL_FILE), tensors(step), Map.of());
      return p.commit(new CheckpointStore.State(step, 2, 7, 0, 8, 5.25), config);
    }
  }

  @Test
  void latestIsNewestAndOldOnesArePruned() throws IOException {
    CheckpointStore store = new CheckpointStore(tmp, 2, w -> {});
    write(store, 10);
    write(store, 20);
    write(store, 30);
    CheckpointStore.Checkpoint c = store.scan().newest().orElseThrow();
    assertEquals(30, c.step());
    assertEquals(new CheckpointStore.State(30, 2, 7, 0, 8, 5.25), c.state());
    assertEquals("capi { train { steps = 100 } }\n", Files.readString(c.config()));
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
    CheckpointStore.Checkpoint c = store.scan().newest().orElseThrow();
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
    assertEquals(10, store.scan().newest().orElseThrow().step());
  }

  /** A LATEST with a byte that is not UTF-8, a NUL, or text that names no checkpoint is passed over. */
  @Test
  void garbledLatestFallsBackToTheCheckpointsThemselves() throws IOException {
    List<String> warnings = new ArrayList<>();
    CheckpointStore store = new CheckpointStore(tmp, 3, warnings::add);
    write(store, 10);
    write(store, 20);
    for (byte[] garbled : List.of(new byte[] {'s', 't', 'e', 'p', (byte) 0xff}, "step-0000\u00000020\n".getBytes(),
        "../../etc\n".getBytes(), new byte[0])) {
      Files.write(tmp.resolve("LATEST"), garbled);
      warnings.clear();
      CheckpointStore.Scan scan = store.scan();
      assertEquals(20, scan.newest().orElseThrow().step());
      assertTrue(warnings.get(0).contains("garbled"), warnings.toString());
    }
  }

  /**
   * Pruning keeps the newest by step and never the one LATEST names: here the older run's
   * step-300..100 (damaged) and a new checkpoint at step 50, keep 3.
   */
  @Test
  void pruningNeverDeletesTheCheckpointJustWritten() throws IOException {
    CheckpointStore store = new CheckpointStore(tmp, 3, w -> {});
    for (long step : new long[] {100, 200, 300}) {
      Path p = write(store, step);
      Files.writeString(p.resolve(CheckpointStore.STATE_FILE), "damaged");
    }
    Path fresh = write(store, 50);
    assertTrue(Files.isDirectory(fresh));
    assertEquals("step-00000050", Files.readString(tmp.resolve("LATEST")).trim());
    assertEquals(50, store.scan().newest().orElseThrow().step());
    assertFalse(Files.exists(tmp.resolve("step-00000100")), "the oldest by step goes");
  }

  /** Steps past 8 digits sort by number, not by name. */
  @Test
  void newestIsByStepNumber() throws IOException {
    CheckpointStore store = new CheckpointStore(tmp, 2, w -> {});
    write(store, 99_999_999);
    write(store, 100_000_000);
    Files.delete(tmp.resolve("LATEST"));
    assertEquals(100_000_000, store.scan().newest().orElseThrow().step());
    write(store, 100_000_001);
    assertFalse(Files.exists(tmp.resolve(CheckpointStore.dirName(99_999_999))));
    assertTrue(Files.exists(tmp.resolve(CheckpointStore.dirName(100_000_000))));
  }

  @Test
  void aScanSaysWhatItFound() throws IOException {
    CheckpointStore store = new CheckpointStore(tmp, 3, w -> {});
    assertEquals("no checkpoint", store.scan().describe());
    Path only = write(store, 10);
    Files.delete(only.resolve(CheckpointStore.MANIFEST));
    String found = store.scan().describe();
    assertTrue(found.startsWith("no valid checkpoint (step-00000010: no manifest.json"), found);
  }

  /** A replica's tensors and AdamW step round-trip; a replica with a NaN is refused before anything is written. */
  @Test
  void aReplicaRoundTripsAndANonFiniteOneIsRefused() throws IOException {
    ModelConfig model = new ModelConfig(8, 8, 1, 4, 8, 2, 1, 8, 2, 1, 4, 8, 0, 0.5, 0.5, 0.12, 0.06, 0.12, 3, true);
    OptimConfig optim = new OptimConfig(1e-3, 0.1, 0.9, 0.95, 1e-8, 0.2, 0.1, 5e-4, 0.01, 0.999, 100, 0.1, 0.8);
    CheckpointStore store = new CheckpointStore(tmp.resolve("ckpt"), 2, w -> {});
    try (CapiTrainer a = CapiTrainer.create(model, optim, 1, 1); CapiTrainer b = CapiTrainer.create(model, optim, 2, 1)) {
      a.setOptimizerStep(17);
      Path config = Files.writeString(tmp.resolve("config.conf"), "capi {}\n");
      try (CheckpointStore.Pending p = store.begin(3)) {
        CheckpointStore.writeModel(p.dir(), a, 3);
        p.commit(new CheckpointStore.State(3, 1, 1, 0, 4, Double.NaN), config);
      }
      CheckpointStore.Checkpoint c = store.scan().newest().orElseThrow();
      c.loadInto(b);
      assertEquals(17, b.optimizerStep());
      assertEquals(a.teacherChecksum(), b.teacherChecksum());
      assertTrue(Double.isNaN(c.state().lossCapi()), "a loss never logged reads back as NaN");

      String name = "student/" + a.studentParameterNames().get(0);
      double[] values = a.read(name);
      values[values.length - 1] = Double.POSITIVE_INFINITY;
      a.write(name, values);
      try (CheckpointStore.Pending p = store.begin(4)) {
        CheckpointStore.NonFiniteException e =
            assertThrows(CheckpointStore.NonFiniteException.class, () -> CheckpointStore.writeModel(p.dir(), a, 4));
        assertTrue(e.getMessage().contains(name) && e.getMessage().contains("Infinity"), e.getMessage());
        assertFalse(Files.exists(p.dir().resolve(CheckpointStore.MODEL_FILE)));
      }
    }
  }

  @Test
  void emptyDirectoryHasNoCheckpoint() throws IOException {
    assertTrue(new CheckpointStore(tmp.resolve("none"), 1, w -> {}).scan().newest().isEmpty());
  }
}
