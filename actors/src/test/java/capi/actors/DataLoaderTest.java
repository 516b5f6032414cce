package capi.actors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import capi.config.BadConfigException;
import capi.config.DataConfig;
import capi.data.BatchShape;
import capi.data.BatchSource;
import capi.data.CapiBatch;
import capi.data.Dataset;
import capi.data.Datasets;
import capi.data.RawImage;
import java.io.IOException;
import java.time.Duration;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(120)
class DataLoaderTest {
  private static final ActorTestKit KIT = ActorTestKit.create();
  private static final Duration WAIT = Duration.ofSeconds(60); // a bound, not a speed requirement
  private static final BatchShape SHAPE = new BatchShape(16, 16, 3, 4, 0.65, 0.25);
  private static final DataConfig CONFIG =
      new DataConfig("synthetic:40", new double[] {0.5}, new double[] {0.25}, 0.6, 1, 0.75, 4 / 3.0, 0.5, 2, 2);

  @AfterAll
  static void shutdown() {
    KIT.shutdownTestKit();
  }

  @Test
  void answersEveryRequestedStepWithThatStepsBatchInAnyOrder() {
    BatchSource source = new BatchSource(Datasets.open("synthetic:40"), SHAPE, CONFIG, 3, 12);
    TestProbe<DataLoader.Reply> probe = KIT.createTestProbe();
    ActorRef<DataLoader.Command> loader = KIT.spawn(DataLoader.create(source, 1, 3, 5, 2, 2));
    // In order from the first step, then a jump ahead, then back (a restart from a checkpoint).
    for (long step : new long[] {5, 6, 7, 20, 21, 4}) {
      loader.tell(new DataLoader.Next(step, probe.getRef()));
      CapiBatch got = probe.expectMessageClass(DataLoader.Batch.class, WAIT).batch();
      CapiBatch expected = source.batch(step, 1, 3);
      assertEquals(step, got.step());
      assertArrayEquals(expected.pixels(), got.pixels());
      assertArrayEquals(expected.visibleIndices(), got.visibleIndices());
      assertArrayEquals(expected.predictIndices(), got.predictIndices());
      assertArrayEquals(expected.labels(), got.labels());
    }
    loader.tell(new DataLoader.Stop());
    probe.expectTerminated(loader, WAIT);
  }

  @Test
  void aBatchThatCannotBeMadeIsAnsweredWithAFailure() {
    DataLoader.Failed failed = firstBatchOf(new Broken());
    assertEquals(0, failed.step());
    assertTrue(failed.message().contains("disk on fire"), failed.message());
    assertFalse(failed.badInput(), "an unexpected error is the machine's");
  }

  /** Every image corrupt: bad input (exit 2), named, not a failure to recover from. */
  @Test
  void aDatasetWithoutOneReadableImageIsBadInput() {
    DataLoader.Failed failed = firstBatchOf(new Corrupt());
    assertTrue(failed.badInput());
    assertTrue(failed.message().contains("not one readable image") && failed.message().contains("corrupt#"),
        failed.message());
  }

  /** The loader's answer for step 0 of a dataset whose batches cannot be made. */
  private static DataLoader.Failed firstBatchOf(Dataset dataset) {
    BatchSource source = new BatchSource(dataset, SHAPE, CONFIG, 0, 4);
    TestProbe<DataLoader.Reply> probe = KIT.createTestProbe();
    ActorRef<DataLoader.Command> loader = KIT.spawn(DataLoader.create(source, 0, 1, 0, 1, 1));
    loader.tell(new DataLoader.Next(0, probe.getRef()));
    DataLoader.Failed failed = probe.expectMessageClass(DataLoader.Failed.class, WAIT);
    loader.tell(new DataLoader.Stop());
    probe.expectTerminated(loader, WAIT);
    return failed;
  }

  /** A dataset whose every image is corrupt. */
  private static final class Corrupt extends Broken {
    @Override
    public RawImage decode(int i) throws IOException {
      throw new IOException("not an image");
    }

    @Override
    public String describe(int i) {
      return "corrupt#" + i;
    }
  }

  @Test
  void aGlobalBatchThatDoesNotDivideIsRejectedAtCreation() {
    BatchSource source = new BatchSource(Datasets.open("synthetic:40"), SHAPE, CONFIG, 0, 10);
    assertThrows(BadConfigException.class, () -> DataLoader.create(source, 0, 3, 0, 1, 1));
  }

  /** A dataset whose every read fails with an unexpected error. */
  private static class Broken implements Dataset {
    public int size() {
      return 8;
    }

    public int channels() {
      return 3;
    }

    public int classes() {
      return 0;
    }

    public int label(int i) {
      return -1;
    }

    public RawImage decode(int i) throws IOException {
      throw new IllegalStateException("disk on fire");
    }

    public String describe(int i) {
      return "broken#" + i;
    }
  }
}
