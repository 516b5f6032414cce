package capi.eval;

/** Which probes an evaluation trains (`capi eval --probe`). */
public enum Probe {
  KNN,
  LINEAR,
  ALL;

  public boolean knn() {
    return this != LINEAR;
  }

  public boolean linear() {
    return this != KNN;
  }
}
