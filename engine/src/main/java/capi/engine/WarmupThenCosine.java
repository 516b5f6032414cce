package capi.engine;

/**
 * The reference's WarmupThenCosine schedule: linspace(start, base, warmup) over the first warmup
 * iterations, then final + ½(base − final)(1 + cos(π·truncate·i/(total − warmup))), and final
 * from total on.
 */
public final class WarmupThenCosine {
  private final double base;
  private final double last;
  private final long total;
  private final long warmup;
  private final double start;
  private final double truncate;

  public WarmupThenCosine(double base, double last, long total, long warmup, double start, double truncate) {
    if (warmup > total) throw new IllegalArgumentException("warmup " + warmup + " > total " + total);
    this.base = base;
    this.last = last;
    this.total = total;
    this.warmup = warmup;
    this.start = start;
    this.truncate = truncate;
  }

  public double at(long it) {
    if (it >= total) return last;
    if (it < warmup) {
      return warmup == 1 ? start : start + (base - start) * it / (warmup - 1);
    }
    long i = it - warmup;
    return last + 0.5 * (base - last) * (1 + Math.cos(Math.PI * truncate * i / (total - warmup)));
  }
}
