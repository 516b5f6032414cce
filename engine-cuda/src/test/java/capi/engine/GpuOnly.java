package capi.engine;

import capi.cuda.CudaBackends;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtensionContext;

/** {@code @ExtendWith(GpuOnly.class)}: the tests run where a GPU is usable, else they are skipped with the CUDA probe's one line. */
final class GpuOnly implements ExecutionCondition {
  @Override
  public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
    String why = CudaBackends.unavailable();
    return why == null ? ConditionEvaluationResult.enabled("a GPU is usable") : ConditionEvaluationResult.disabled(why);
  }
}
