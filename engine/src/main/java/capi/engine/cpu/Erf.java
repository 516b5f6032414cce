package capi.engine.cpu;

/**
 * The error function, which Java lacks. {@link #precise} is accurate to about 1e-15 (float64
 * checks); {@link #fast} to 2.2e-8 absolute, below float32 rounding.
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
    // erf(x) ≈ x·P(x²)/Q(x²) on [−4, 4], ±1 beyond (erf(4) = 1 − 1.5e-8): a rational fit with
    // positive coefficients (no cancellation, Q ≥ 1), max error 2.2e-8, no exp, so loops vectorise.
    double c = Math.max(-4, Math.min(4, x));
    double t = c * c;
    double p = 1.1283789765806527 + t * (0.19625090232966233 + t * (0.053467644483523716
        + t * (0.004003700851958041 + t * (2.880380604568314e-4 + t * 1.9747592318319906e-6))));
    double q = 1 + t * (0.507253993852263 + t * (0.11647714018813311 + t * (0.015444540468507325
        + t * (0.0012163642877254608 + t * 3.747993984569431e-5))));
    return c * p / q;
  }
}
