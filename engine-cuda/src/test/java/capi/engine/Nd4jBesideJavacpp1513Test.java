package capi.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.bytedeco.javacpp.Loader;
import org.junit.jupiter.api.Test;

/**
 * engine-cuda's classpath carries JavaCPP 1.5.13 (the CUDA presets need it) where ND4J 1.0.0-M2.1
 * was built with 1.5.7: the CPU backend must still work in the same JVM, so a process may hold
 * both backends. Runs the whole conformance suite on Nd4jBackend with the newer JavaCPP loaded.
 */
class Nd4jBesideJavacpp1513Test extends BackendConformance {
  @Test
  void javacppOnThisClasspathIs1513() throws Exception {
    assertEquals("1.5.13", Loader.getVersion());
  }

  @Override
  protected Backend create(Precision p) {
    return new Nd4jBackend(p, 2);
  }
}
