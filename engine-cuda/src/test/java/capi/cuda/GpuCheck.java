package capi.cuda;

import capi.config.CapiConfig;
import capi.config.ModelConfig;
import capi.config.OptimConfig;
import capi.engine.Backend;
import capi.engine.GoldenParity;
import capi.engine.Precision;
import capi.engine.StepBenchmark;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.junit.platform.launcher.Launcher;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.launcher.listeners.SummaryGeneratingListener;
import org.junit.platform.launcher.listeners.TestExecutionSummary;
import org.junit.platform.engine.discovery.DiscoverySelectors;

/**
 * One part of the GPU check (scripts/gpu-check runs each in its own JVM under a timeout) and prints
 * its result as one JSON object on stdout:
 *
 * <pre>
 *   GpuCheck facts                       CUDA probe, visible devices, kernels in the build
 *   GpuCheck conformance                 on device 0 (JUnit): the engine's BackendConformance in float64, float32 and
 *                                        bf16-mixed, the TF32 and bf16-output products, a bf16-mixed step vs the reference
 *   GpuCheck parity GOLDEN_DIR           capi-tiny-a in float32 (≤ 1e-3) and float64 (≤ 1e-8 / 1e-5)
 *   GpuCheck data-parallel               1 vs 2 trainers on device 0, every precision (DataParallelCheck)
 *   GpuCheck bench [STEPS] [BATCH]       vit-s step, 224 px, K 16384, bf16-mixed with TF32
 * </pre>
 *
 * With -Dcapi.gpu.emulated=true every part runs on the CPU emulation instead (and the bench on a
 * tiny model): the dry run of the bundle on a machine without a GPU.
 */
public final class GpuCheck {
  private static final boolean EMULATED = Boolean.getBoolean("capi.gpu.emulated");
  /** bf16 dense tensor-core peak of an H100/H200 SXM, FLOP/s (override: -Dcapi.gpu.peak-tflops). */
  private static final double PEAK = Double.parseDouble(System.getProperty("capi.gpu.peak-tflops", "989.4")) * 1e12;

  private GpuCheck() {}

  public static void main(String[] args) throws Exception {
    if (args.length == 0) {
      System.err.println("usage: GpuCheck facts|conformance|parity GOLDEN_DIR|data-parallel|bench [STEPS] [BATCH]");
      System.exit(2);
    }
    PrintStream result = System.out; // the one JSON line; what the checks print goes to stderr
    System.setOut(System.err);
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("part", args[0]);
    out.put("device", EMULATED ? "emulated" : "cuda:0");
    long t0 = System.nanoTime();
    boolean ok;
    try {
      ok = switch (args[0]) {
        case "facts" -> facts(out);
        case "conformance" -> conformance(out);
        case "parity" -> parity(Path.of(args[1]), out);
        case "data-parallel" -> dataParallel(out);
        case "bench" -> bench(args.length > 1 ? Integer.parseInt(args[1]) : 10, args.length > 2 ? Integer.parseInt(args[2]) : 256, out);
        default -> throw new IllegalArgumentException("no part " + args[0]);
      };
    } catch (Throwable t) {
      out.put("error", Devices.oneLine(t));
      ok = false;
    }
    out.put("passed", ok);
    out.put("seconds", (System.nanoTime() - t0) / 1e9);
    result.println(json(out));
    result.flush();
    System.exit(ok ? 0 : 1);
  }

  private static Function<Precision, Backend> backends(CudaBackend.Options options) {
    return p -> backend(p, options);
  }

  private static CudaBackend backend(Precision p, CudaBackend.Options options) {
    return EMULATED ? CudaBackends.emulated(p, options) : CudaBackends.open(p, 0, options);
  }

  private static boolean facts(Map<String, Object> out) {
    String why = CudaBackends.unavailable();
    out.put("unavailable", why);
    List<Object> gpus = new ArrayList<>();
    for (Devices.Gpu g : Devices.visible()) gpus.add(Map.of("index", g.index(), "name", g.name(), "memory_bytes", g.memoryBytes()));
    out.put("visible", gpus);
    out.put("cuda_visible_devices", System.getenv("CUDA_VISIBLE_DEVICES"));
    out.put("java", System.getProperty("java.version"));
    return EMULATED || why == null;
  }

  private static boolean conformance(Map<String, Object> out) throws ClassNotFoundException {
    String where = EMULATED ? "Emulated" : "Gpu";
    List<String> suites = List.of("capi.engine." + where + "CudaConformanceTest", "capi.engine." + where + "CudaGemmModesTest",
        "capi.engine." + where + "CudaBf16MixedTest");
    LauncherDiscoveryRequestBuilder request = LauncherDiscoveryRequestBuilder.request();
    for (String suite : suites) request.selectors(DiscoverySelectors.selectClass(Class.forName(suite)));
    LauncherDiscoveryRequest req = request.build();
    Launcher launcher = LauncherFactory.create();
    SummaryGeneratingListener listener = new SummaryGeneratingListener();
    launcher.execute(req, listener);
    TestExecutionSummary s = listener.getSummary();
    out.put("suites", suites);
    out.put("tests", s.getTestsFoundCount());
    out.put("succeeded", s.getTestsSucceededCount());
    out.put("failed", s.getTestsFailedCount());
    out.put("skipped", s.getTestsAbortedCount() + s.getTestsSkippedCount());
    List<Object> failures = new ArrayList<>();
    for (TestExecutionSummary.Failure f : s.getFailures()) {
      failures.add(f.getTestIdentifier().getDisplayName() + ": " + Devices.oneLine(f.getException()));
    }
    out.put("failures", failures);
    return s.getTestsFoundCount() > 0 && s.getTestsSucceededCount() == s.getTestsFoundCount();
  }

  private static boolean parity(Path golden, Map<String, Object> out) throws Exception {
    boolean ok = true;
    for (Precision p : List.of(Precision.FLOAT64, Precision.FLOAT32)) {
      GoldenParity.Result r = GoldenParity.run(golden, p, backends(CudaBackend.Options.EXACT));
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("tensors", r.rows().size());
      m.put("max_rel_err", r.maxRelErr());
      m.put("passed", r.passed());
      List<Object> worst = new ArrayList<>();
      r.rows().stream().sorted(Comparator.comparingDouble((GoldenParity.Row row) -> row.relErr() / row.tolerance()).reversed())
          .limit(5).forEach(row -> worst.add(row.key() + " " + row.relErr() + " (tol " + row.tolerance() + ")"));
      m.put("worst", worst);
      out.put(p.name().toLowerCase(), m);
      ok &= r.passed();
    }
    return ok;
  }

  private static boolean dataParallel(Map<String, Object> out) throws Exception {
    boolean ok = true;
    for (Precision p : Precision.values()) {
      DataParallelCheck.Result r = DataParallelCheck.run(p, 8, 3, backends(CudaBackend.Options.EXACT));
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("max_loss_rel_diff", r.maxLossRelDiff());
      m.put("teacher_rel_diff", r.teacherRelDiff());
      m.put("tolerance", r.tolerance());
      m.put("losses_1_worker", r.one());
      m.put("losses_2_workers", r.two());
      m.put("passed", r.passed());
      out.put(p.name().toLowerCase(), m);
      ok &= r.passed();
    }
    return ok;
  }

  private static boolean bench(int steps, int batch, Map<String, Object> out) {
    CapiConfig preset = CapiConfig.preset(EMULATED ? "tiny" : "vit-s");
    ModelConfig model = preset.model();
    OptimConfig optim = preset.optim();
    if (EMULATED) {
      steps = 1;
      batch = 2;
    }
    CudaBackend be = backend(Precision.BF16_MIXED, new CudaBackend.Options(true));
    out.put("backend", be.describe());
    out.put("model", model.toString());
    out.put("batch", batch);
    try (StepBenchmark bench = new StepBenchmark(model, optim, batch, be)) {
      bench.run(EMULATED ? 1 : 3); // warm-up: buffers allocated, kernels loaded
      be.synchronize();
      long flops0 = be.gemmFlops();
      long ns = bench.run(steps);
      be.synchronize();
      double perStep = ns / 1e9 / steps, flops = (double) (be.gemmFlops() - flops0) / steps;
      out.put("steps", steps);
      out.put("ms_per_step", perStep * 1e3);
      out.put("img_per_s", batch / perStep);
      out.put("peak_device_bytes", be.peakDeviceBytes());
      out.put("gemm_tflop_per_step", flops / 1e12);
      out.put("mfu_bf16_dense", flops / perStep / PEAK);
      out.put("peak_tflops_assumed", PEAK / 1e12);
    }
    return true;
  }

  /** Maps, lists, arrays, strings, numbers, booleans and null as JSON. */
  static String json(Object v) {
    if (v == null) return "null";
    if (v instanceof String s) return capi.engine.checkpoint.Json.quote(s);
    if (v instanceof Double d) return d.isNaN() || d.isInfinite() ? "null" : d.toString();
    if (v instanceof Number || v instanceof Boolean) return v.toString();
    StringBuilder b = new StringBuilder();
    if (v instanceof Map<?, ?> m) {
      b.append('{');
      for (Map.Entry<?, ?> e : m.entrySet()) {
        if (b.length() > 1) b.append(", ");
        b.append(json(String.valueOf(e.getKey()))).append(": ").append(json(e.getValue()));
      }
      return b.append('}').toString();
    }
    List<Object> items = new ArrayList<>();
    if (v instanceof List<?> l) items.addAll(l);
    else if (v instanceof double[] a) for (double x : a) items.add(x);
    else if (v instanceof Object[] a) items.addAll(List.of(a));
    else return json(v.toString());
    b.append('[');
    for (int i = 0; i < items.size(); i++) b.append(i > 0 ? ", " : "").append(json(items.get(i)));
    return b.append(']').toString();
  }
}
