package capi.actors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.coordination.lease.LeaseSettings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The split brain resolver's lease in the run directory: one holder at a time, released or expired, lost to a newer term. */
class RunDirectoryLeaseTest {
  @TempDir Path dir;

  private RunDirectoryLease lease(String owner, String timeout) {
    return new RunDirectoryLease(LeaseSettings.apply(ConfigFactory.parseString(
        "directory = \"" + dir + "\"\nlease-class = x\nheartbeat-timeout = " + timeout
            + "\nheartbeat-interval = 100ms\nlease-operation-timeout = 5s"), "capi-pekko-sbr", owner));
  }

  private static boolean get(java.util.concurrent.CompletionStage<Boolean> s) throws Exception {
    return s.toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  @Test
  void oneHolderAtATimeUntilItReleases() throws Exception {
    RunDirectoryLease a = lease("capi@a:1", "30s");
    RunDirectoryLease b = lease("capi@b:1", "30s");
    assertTrue(get(a.acquire()));
    assertTrue(a.checkLease());
    assertFalse(get(b.acquire()), "held by a");
    assertTrue(get(a.acquire()), "the holder may acquire again");
    assertTrue(get(a.release()));
    assertFalse(a.checkLease());
    assertTrue(get(b.acquire()), "released");
    assertFalse(get(a.acquire()), "now b's");
  }

  @Test
  void aHolderThatStopsRenewingLosesItAfterTheTimeout() throws Exception {
    RunDirectoryLease crashed = lease("capi@a:1", "600ms");
    assertTrue(get(crashed.acquire()));
    crashed.release(); // stands for a crash: its heartbeat stops (the release marks nothing: superseded below)
    RunDirectoryLease b = lease("capi@b:1", "600ms");
    RunDirectoryLease c = lease("capi@c:1", "600ms");
    assertTrue(get(b.acquire()));
    assertFalse(get(c.acquire()), "b renews while it lives");
    Thread.sleep(800);
    assertFalse(get(c.acquire()), "b's heartbeat kept it");
  }

  @Test
  void anExpiredLeaseIsTakenOverAndItsHolderLearnsItLostIt() throws Exception {
    RunDirectoryLease a = lease("capi@a:1", "30s");
    CompletableFuture<Optional<Throwable>> lost = new CompletableFuture<>();
    assertTrue(get(a.acquire(lost::complete)));
    // Another node's clock says the lease expired long ago: it writes the next term, as after a crash.
    java.nio.file.Files.writeString(dir.resolve("capi-pekko-sbr/term-1"), "capi@a:1 1\n");
    RunDirectoryLease b = lease("capi@b:1", "30s");
    assertTrue(get(b.acquire()));
    assertTrue(lost.get(10, TimeUnit.SECONDS).isPresent(), "a's heartbeat finds term 2");
    assertFalse(a.checkLease());
    assertEquals(false, get(a.acquire()), "b holds term 2");
  }
}
