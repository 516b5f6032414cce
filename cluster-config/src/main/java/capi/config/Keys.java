package capi.config;

/**
 * The configuration keys that code outside this module names in its error messages (a dataset it
 * cannot open, a port it cannot bind): the message names the key the user can change.
 */
public final class Keys {
  private Keys() {}

  public static final String DATA_DATASET = "capi.data.dataset";
  public static final String DATA_MEAN = "capi.data.mean";
  public static final String DATA_STD = "capi.data.std";
  public static final String MODEL_IN_CHANNELS = "capi.model.in-channels";
  public static final String EVAL_DATASET = "capi.eval.dataset";
  public static final String EVAL_TEST_DATASET = "capi.eval.test-dataset";
  public static final String TRAIN_BATCH_SIZE = "capi.train.batch-size";
  public static final String TRAIN_RUN_DIR = "capi.train.run-dir";
  public static final String ENGINE_BACKEND = "capi.engine.backend";
  public static final String TRAIN_WORKERS = "capi.train.workers";
  public static final String METRICS_PORT = "capi.monitoring.metrics-port";
}
