package capi.monitoring;

/**
 * What one completed training step tells the metrics (built by the coordinator from its workers'
 * StepDone messages). Times are wall seconds of this step; {@code images} is the global batch;
 * {@code allReduceBytes} is the size of the buffer all-reduced per worker in this step (the
 * "bytes" of busbw = 2(n-1)/n * bytes / time).
 */
public record StepReport(
    long step,
    long images,
    double lossCapi,
    double lossClustering,
    double targetEntropy,
    double lr,
    double momentum,
    double clusteringLr,
    double gradNorm,
    double stepSeconds,
    double dataWaitSeconds,
    double teacherForwardSeconds,
    double sinkhornSeconds,
    double studentSeconds,
    double allReduceSeconds,
    double optimizerSeconds,
    long allReduceBytes,
    int worldSize,
    int epoch) {}
