package capi.actors;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class RecoveryLimitsTest {
  /** A checkpoint that fails at the same step every time ends the run although steps complete in between. */
  @Test
  void theSameFailureAtTheSameStepEndsTheRunDespiteProgress() {
    RecoveryLimits limits = new RecoveryLimits();
    for (int i = 0; i < RecoveryLimits.MAX; i++) {
      assertNull(limits.failed("checkpoint-write", 8, "No space left on device"));
      for (int step = 0; step < 4; step++) limits.stepCompleted();
    }
    String why = limits.failed("checkpoint-write", 8, "No space left on device");
    assertNotNull(why);
    assertTrue(why.contains("checkpoint-write at step 8 4 times") && why.contains("No space left"), why);
  }

  @Test
  void failuresAtOtherStepsWithProgressInBetweenGoOn() {
    RecoveryLimits limits = new RecoveryLimits();
    for (long step = 1; step < 20; step++) {
      assertNull(limits.failed("worker-lost", step, "a node died"));
      limits.stepCompleted();
    }
  }

  @Test
  void recoveriesWithoutACompletedStepEndTheRun() {
    RecoveryLimits limits = new RecoveryLimits();
    for (int i = 0; i < RecoveryLimits.MAX; i++) assertNull(limits.failed("worker-error", i, "boom"));
    String why = limits.failed("step-timeout", 9, "slow");
    assertNotNull(why);
    assertTrue(why.contains("without a completed step"), why);
  }
}
