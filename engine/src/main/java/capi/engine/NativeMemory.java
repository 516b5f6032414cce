package capi.engine;

import java.io.IOException;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Off-heap memory of this process (for metrics: it must stay flat over a run). The cpu backend
 * keeps tensors on the Java heap; what lives off it are direct buffers (gradient and Sinkhorn
 * staging, the collectives' buffers).
 */
public final class NativeMemory {
  private NativeMemory() {}

  /** Bytes of the JVM's direct buffers. */
  public static long allocatedBytes() {
    for (BufferPoolMXBean pool : ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class)) {
      if (pool.getName().equals("direct")) return pool.getMemoryUsed();
    }
    return 0;
  }

  /** Resident set size of this process in bytes (/proc/self/statm), or -1 where there is none. */
  public static long residentBytes() {
    try {
      String[] f = Files.readString(Path.of("/proc/self/statm")).trim().split("\\s+");
      return Long.parseLong(f[1]) * 4096;
    } catch (IOException | RuntimeException e) {
      return -1;
    }
  }
}
