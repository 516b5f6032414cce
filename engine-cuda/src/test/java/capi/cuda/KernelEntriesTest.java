package capi.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The compiled kernels match what the Java side launches: every entry point of {@link Kernel} is an
 * {@code .entry} of the nvcc-built PTX with the parameter count the backend passes, and the CPU
 * emulator registers exactly the PTX's entry points with the same counts (so what the emulator
 * tests is what the GPU runs).
 */
class KernelEntriesTest {
  /** name → parameter count of every {@code .visible .entry} of the shipped PTX. */
  static Map<String, Integer> ptxEntries() {
    byte[] ptx = NativeResources.bytes("kernels.ptx");
    byte[] missing = NativeResources.bytes("kernels.missing");
    assertNotNull(ptx, "capi/cuda/kernels.ptx is not on the classpath: "
        + (missing != null ? new String(missing, StandardCharsets.UTF_8).trim() : "rebuild engine-cuda with nvcc on the PATH"));
    Map<String, Integer> out = new TreeMap<>();
    Matcher m = Pattern.compile("\\.entry\\s+(\\w+)\\s*\\(([^)]*)\\)").matcher(new String(ptx, StandardCharsets.US_ASCII));
    while (m.find()) out.put(m.group(1), (int) Pattern.compile("\\.param\\s").matcher(m.group(2)).results().count());
    return out;
  }

  @Test
  void everyLaunchedKernelIsInThePtxWithItsArity() {
    Map<String, Integer> entries = ptxEntries();
    assertTrue(entries.size() > 40, "PTX entries: " + entries.size());
    for (Kernel k : Kernel.values()) {
      for (String name : k.entryPoints()) {
        assertTrue(entries.containsKey(name), name + " is not an entry of kernels.ptx");
        assertEquals(k.arity, entries.get(name), name + ": parameters in the PTX");
      }
    }
  }

  @Test
  void theEmulatorRunsTheSameEntryPoints() {
    Map<String, Integer> emulated = new TreeMap<>();
    for (String s : EmulatedDevice.kernelList()) {
      int slash = s.lastIndexOf('/');
      emulated.put(s.substring(0, slash), Integer.parseInt(s.substring(slash + 1)));
    }
    assertEquals(ptxEntries(), emulated);
  }

  @Test
  void theFatbinHoldsCodeForEveryTargetArchitecture() {
    byte[] fatbin = NativeResources.fatbin();
    String text = new String(fatbin, StandardCharsets.ISO_8859_1);
    assertTrue(fatbin.length > 100_000, "fatbin of " + fatbin.length + " bytes");
    // the embedded PTX (compute_90) names its target; the SASS parts are ELF images
    assertTrue(text.contains(".target sm_90") || text.contains("sm_90"), "no sm_90 code in kernels.fatbin");
    assertTrue(Pattern.compile("\u007fELF").matcher(text).results().count() >= 4, "fewer than 4 SASS images in kernels.fatbin");
  }
}
