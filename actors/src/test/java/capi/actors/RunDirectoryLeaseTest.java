package capi.actors;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.nio.file.Files;
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
  void theLeaseOfAHolderThatStoppedRenewingExpires() throws Exception {
    // Term 1 of a holder that died just after renewing it: it expires 600 ms from now.
    Files.createDirectories(dir.resolve("capi-pekko-sbr"));
    Files.writeString(dir.resolve("capi-pekko-sbr/term-1"), "capi@a:1 " + (System.currentTimeMillis() + 600) + "\n");
    RunDirectoryLease b = lease("capi@b:1", "30s");
    assertFalse(get(b.acquire()), "not expired yet");
    Thread.sleep(800);
    assertTrue(get(b.acquire()), "expired 600 ms after its last renewal");
    assertFalse(get(lease("capi@c:1", "30s").acquire()), "b's now, and b renews it");
  }

  @Test
  void aHolderLearnsThatAnotherNodeTookOver() throws Exception {
    RunDirectoryLease a = lease("capi@a:1", "30s");
    CompletableFuture<Optional<Throwable>> lost = new CompletableFuture<>();
    assertTrue(get(a.acquire(lost::complete)));
    // Another node, whose clock saw a's term expire, linked the next term in place.
    Files.writeString(dir.resolve("capi-pekko-sbr/term-2"), "capi@b:1 " + (System.currentTimeMillis() + 60_000) + "\n");
    assertTrue(lost.get(10, TimeUnit.SECONDS).isPresent(), "a's heartbeat finds term 2");
    assertFalse(a.checkLease());
    assertFalse(get(a.acquire()), "b holds term 2");
  }
}
