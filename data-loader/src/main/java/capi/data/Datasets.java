package capi.data;

import capi.config.BadConfigException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Opens a dataset from its SPEC (docs/CLI.md): fashion-mnist[:test], idx:DIR, folder:DIR, tar:GLOB, synthetic:N. */
public final class Datasets {
  /** Where Debian's dataset-fashion-mnist package (scripts/setup) installs Fashion-MNIST. */
  static final Path FASHION_MNIST = Path.of("/usr/share/datasets/fashion-mnist");

  private Datasets() {}

  /** @throws BadConfigException for an unknown SPEC, a missing path or a malformed file */
  public static Dataset open(String spec) {
    int colon = spec.indexOf(':');
    String kind = colon < 0 ? spec : spec.substring(0, colon);
    String arg = colon < 0 ? "" : spec.substring(colon + 1);
    switch (kind) {
      case "fashion-mnist":
        if (!arg.isEmpty() && !arg.equals("train") && !arg.equals("test")) throw bad(spec, "the split must be train or test");
        if (!Files.isDirectory(FASHION_MNIST)) {
          throw bad(spec, FASHION_MNIST + " is missing: install Debian's dataset-fashion-mnist (./scripts/setup does)");
        }
        return IdxDataset.open(FASHION_MNIST, arg.equals("test") ? "t10k" : "train");
      case "idx":
        return IdxDataset.open(Path.of(required(spec, arg)), null);
      case "folder":
        return new FolderDataset(Path.of(required(spec, arg)));
      case "tar":
        return new TarDataset(required(spec, arg));
      case "synthetic":
        try {
          int n = Integer.parseInt(required(spec, arg));
          if (n > 0) return new SyntheticDataset(n);
        } catch (NumberFormatException e) {
          // reported below
        }
        throw bad(spec, "N must be a positive integer");
      default:
        throw bad(spec, "unknown dataset; use fashion-mnist[:test], idx:DIR, folder:DIR, tar:GLOB or synthetic:N");
    }
  }

  private static String required(String spec, String arg) {
    if (arg.isEmpty()) throw bad(spec, "missing path or count after ':'");
    return arg;
  }

  private static BadConfigException bad(String spec, String why) {
    return new BadConfigException("dataset " + spec + ": " + why);
  }
}
