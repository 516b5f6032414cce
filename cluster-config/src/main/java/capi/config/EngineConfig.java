package capi.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;
import java.util.ArrayList;
import java.util.List;

/**
 * Where and in what precision the step runs ({@code capi.engine.*} in reference.conf, docs/ENGINE.md).
 *
 * @param backend cpu (the Java backend on this machine's cores) or cuda (NVIDIA GPUs, docs/GPU.md)
 * @param precision float32, float64, or bf16-mixed (bf16 product inputs and activations, fp32 master
 *     weights, gradients and reductions: the reference's autocast; cuda only)
 * @param tf32 cuda float32: matrix products on TF32 tensor cores (the reference turns TF32 on)
 * @param devices cuda: the visible GPU of each worker of this node, worker i on
 *     {@code devices[i % size]} (so [0, 0, 1, 1] puts two workers on each of two GPUs); empty: worker
 *     i on visible GPU i
 */
public record EngineConfig(Backend backend, Precision precision, boolean tf32, List<Integer> devices) {

  /** The provider that runs the step (capi.engine.BackendProvider's name). */
  public enum Backend implements Choice { CPU, CUDA }

  /** Number formats of the step (the engine's Precision of the same name). */
  public enum Precision implements Choice { FLOAT32, FLOAT64, BF16_MIXED }

  private static final String P = "capi.engine.";

  public EngineConfig {
    devices = List.copyOf(devices);
    if (precision == Precision.BF16_MIXED && backend == Backend.CPU) {
      throw BadConfigException.of(P + "precision", precision.word(), "bf16-mixed runs on the cuda backend only; the cpu backend takes float32 or float64");
    }
    for (int d : devices) {
      if (d < 0) throw BadConfigException.of(P + "devices", devices, "must list visible GPU indices (0, 1, ...)");
    }
  }

  static EngineConfig from(Config c) {
    return new EngineConfig(
        Values.choice(c, P + "backend", Backend.class),
        Values.choice(c, P + "precision", Precision.class),
        Values.booleanValue(c, P + "tf32"),
        devices(c, P + "devices"));
  }

  /** A HOCON list of indices, or the same written as a string (-D gives strings): "[0, 1]", "0,1", "". */
  private static List<Integer> devices(Config c, String key) {
    ConfigValue v = c.getValue(key);
    List<Integer> out = new ArrayList<>();
    try {
      if (v.valueType() == ConfigValueType.LIST) return c.getIntList(key);
      String text = c.getString(key).trim();
      if (text.startsWith("[") && text.endsWith("]")) text = text.substring(1, text.length() - 1);
      for (String part : text.split(",")) {
        if (!part.isBlank()) out.add(Integer.parseInt(part.trim()));
      }
    } catch (ConfigException.WrongType | NumberFormatException e) {
      throw BadConfigException.of(key, v.render(), "must be a list of GPU indices, e.g. [0, 1]");
    }
    return out;
  }

  /** The device of worker {@code worker} of this node (cuda; the cpu ignores it). */
  public int deviceOf(int worker) {
    return devices.isEmpty() ? worker : devices.get(worker % devices.size());
  }
}
