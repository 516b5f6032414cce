package capi.engine;

import org.bytedeco.javacpp.Pointer;

/** Off-heap memory as the native backends see it (for metrics: it must stay flat over a run). */
public final class NativeMemory {
  private NativeMemory() {}

  /** Bytes currently allocated through JavaCPP (ND4J's data buffers live there). */
  public static long allocatedBytes() {
    return Pointer.totalBytes();
  }

  /** Resident set size of this process, in bytes. */
  public static long residentBytes() {
    return Pointer.physicalBytes();
  }
}
