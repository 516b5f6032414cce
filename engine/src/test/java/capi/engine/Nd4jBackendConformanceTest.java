package capi.engine;

/** The ND4J/OpenBLAS CPU backend against the reference, with two threads so the split loops run too. */
class Nd4jBackendConformanceTest extends BackendConformance {
  @Override
  protected Backend create(Precision p) {
    return new Nd4jBackend(p, 2);
  }
}
