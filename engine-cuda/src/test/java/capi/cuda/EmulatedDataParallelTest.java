package capi.cuda;

import static org.junit.jupiter.api.Assertions.assertTrue;

import capi.engine.Precision;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** 1 worker vs 2 workers on one (emulated) device: same losses and teacher within the precision's tolerance. */
class EmulatedDataParallelTest {
  @Test
  @Timeout(300)
  void twoWorkersOnOneDeviceStepLikeOne() throws Exception {
    for (Precision p : Precision.values()) {
      DataParallelCheck.Result r = DataParallelCheck.run(p, 4, 3, q -> CudaBackends.emulated(q, CudaBackend.Options.EXACT));
      System.out.printf("data parallel %s: max loss rel diff %.2e, teacher rel diff %.2e, losses %s vs %s%n", p,
          r.maxLossRelDiff(), r.teacherRelDiff(), Arrays.deepToString(r.one()), Arrays.deepToString(r.two()));
      assertTrue(r.passed(), p + ": loss rel diff " + r.maxLossRelDiff() + ", teacher rel diff " + r.teacherRelDiff());
    }
  }
}
