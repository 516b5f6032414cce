package capi.engine;

/**
 * The error function, which Java lacks. {@link #precise} is accurate to about 1e-15 (float64
 * checks); {@link #fast} to 1.5e-7 absolute (Abramowitz-Stegun 7.1.26), enough for float32.
 */
final class Erf {
  private Erf() {}

  private static final double TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);

  static double precise(double x) {
    double a = Math.abs(x);
    double r;
    if (a < 2.5) {
      // erf(a) = 2/√π·e^(−a²)·Σ (2a²)^n·a/(1·3·…·(2n+1)): all terms positive, no cancellation.
      double term = a;
      double sum = a;
      double twoA2 = 2 * a * a;
      for (int n = 1; term > 1e-17 * sum; n++) {
        term *= twoA2 / (2 * n + 1);
        sum += term;
      }
      r = TWO_OVER_SQRT_PI * Math.exp(-a * a) * sum;
    } else if (a < 6) {
      r = 1 - erfcContinuedFraction(a);
    } else {
      r = 1;
    }
    return x < 0 ? -r : r;
  }

  /** erfc(a) for a ≥ 2.5 by the Laplace continued fraction (modified Lentz). */
  private static double erfcContinuedFraction(double a) {
    // erfc(a) = e^(−a²)/√π · 1/(a + (1/2)/(a + 1/(a + (3/2)/(a + 2/(a + …)))))
    double tiny = 1e-300;
    double f = a;
    double c = a;
    double d = 0;
    for (int n = 1; n < 200; n++) {
      double an = n / 2.0;
      d = a + an * d;
      d = d == 0 ? tiny : d;
      c = a + an / c;
      c = c == 0 ? tiny : c;
      d = 1 / d;
      double delta = c * d;
      f *= delta;
      if (Math.abs(delta - 1) < 1e-16) break;
    }
    return Math.exp(-a * a) / Math.sqrt(Math.PI) / f;
  }

  static double fast(double x) {
    double a = Math.abs(x);
    double t = 1 / (1 + 0.3275911 * a);
    double y = 1 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-a * a);
    return x < 0 ? -y : y;
  }
}
