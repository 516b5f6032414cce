package capi.engine;

import java.util.Random;

/**
 * The reference initialisation (EncoderDecoder.init_weights, L2NormLinear, OnlineClustering),
 * seeded: Xavier-uniform linears and patch embedding, conv-default patch bias, N(0, 0.02²)
 * registers and mask token, unit norm gains, RoPE frequencies, head V ~ N(0, 0.02²) with g = 1,
 * clustering A ~ N(0, 1) with c = 0.
 */
final class Init {
  private Init() {}

  static void model(Backend be, ParamSet ps, Random rng) {
    Param patch = ps.get("backbone.patch_embed.weight");
    int patchFanIn = (int) (patch.length / patch.shape[0]);
    for (Param p : ps.params()) be.upload(values(p, patchFanIn, rng), 0, p.value, 0, (int) p.length);
  }

  static void clustering(Backend be, ParamSet ps, Random rng) {
    Param w = ps.get("layer.weight");
    double[] a = new double[(int) w.length];
    for (int i = 0; i < a.length; i++) a[i] = rng.nextGaussian();
    be.upload(a, 0, w.value, 0, a.length);
    be.fill(ps.get("layer.bias").value, 0);
  }

  private static double[] values(Param p, int patchFanIn, Random rng) {
    double[] v = new double[(int) p.length];
    String n = p.name;
    if (n.endsWith("rope.freqs")) return ropeFreqs(p.shape[1]);
    if (n.endsWith("norm.weight") || n.endsWith("weight_g")) {
      java.util.Arrays.fill(v, 1);
    } else if (n.endsWith("patch_embed.bias")) {
      double bound = 1 / Math.sqrt(patchFanIn);
      for (int i = 0; i < v.length; i++) v[i] = (2 * rng.nextDouble() - 1) * bound;
    } else if (n.endsWith("mask_token") || n.endsWith("registers") || n.endsWith("weight_v")) {
      for (int i = 0; i < v.length; i++) v[i] = 0.02 * rng.nextGaussian();
    } else if (n.endsWith(".weight")) { // linears (out, in) and the patch embedding (D, C·p·p)
      int out = p.shape[0];
      int in = (int) (p.length / out);
      double bound = Math.sqrt(6.0 / (in + out));
      for (int i = 0; i < v.length; i++) v[i] = (2 * rng.nextDouble() - 1) * bound;
    } else {
      throw new IllegalStateException("no initialisation rule for " + n);
    }
    return v;
  }

  /** (2, d): 2π·f with f_j = 7·(7/7e-4)^(−j/(d/4 − 1)), duplicated; row 0 channels [0, d/2), row 1 [d/2, d). */
  static double[] ropeFreqs(int d) {
    int n = d / 4;
    double[] out = new double[2 * d];
    for (int j = 0; j < n; j++) {
      double t = n == 1 ? 0 : -(double) j / (n - 1);
      double f = 7 * Math.pow(7 / 7e-4, t) * 2 * Math.PI;
      out[j] = f;
      out[j + n] = f;
      out[d + d / 2 + j] = f;
      out[d + d / 2 + j + n] = f;
    }
    return out;
  }
}
