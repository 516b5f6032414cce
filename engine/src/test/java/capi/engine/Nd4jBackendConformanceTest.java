package capi.engine;

/** The ND4J/OpenBLAS CPU backend against the reference. */
class Nd4jBackendConformanceTest extends BackendConformance {
  @Override
  protected Backend create(Precision p) {
    return new Nd4jBackend(p, 1);
  }
}
