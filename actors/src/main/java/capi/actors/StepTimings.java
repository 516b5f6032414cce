package capi.actors;

/** Where one worker's step went, in seconds (reported in StepDone, exported as metrics). */
public record StepTimings(
    double dataWait,
    double teacherForward,
    double sinkhorn,
    double student,
    double allReduce,
    double optimizer,
    long allReduceBytes) {

  public double compute() {
    return teacherForward + sinkhorn + student + allReduce + optimizer;
  }
}
