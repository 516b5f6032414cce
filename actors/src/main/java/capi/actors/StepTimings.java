package capi.actors;

/**
 * Where one worker's step went, in seconds (reported in StepDone, exported as metrics), the bytes it
 * all-reduced and how many batches its data loader had ready beyond this step's.
 */
public record StepTimings(
    double dataWait,
    double teacherForward,
    double sinkhorn,
    double student,
    double allReduce,
    double optimizer,
    long allReduceBytes,
    int prefetchDepth) {

  public double compute() {
    return teacherForward + sinkhorn + student + allReduce + optimizer;
  }
}
