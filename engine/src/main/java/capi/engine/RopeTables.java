package capi.engine;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The RoPE cos and sin tables (rows, headDim) of one set of token coordinates (rows, 2), shared by
 * every attention layer that rotates at those coordinates. A table costs rows·headDim cos and sin:
 * computed per layer, that was most of the attention forward's non-GEMM time. Every layer's
 * rope.freqs are frozen (lr×0) and equal at initialisation, so one computation per forward serves
 * all layers; tables are kept per distinct (freqs, headDim), so layers whose frequencies differ
 * (a foreign checkpoint) still get exactly their own.
 */
final class RopeTables {
  /** A layer's rotation at rows of coordinates: cos and sin, (rows, headDim) each. */
  record Rotation(Tensor cos, Tensor sin) {}

  /** The rotation of one (freqs, headDim) at these coordinates. */
  private static final class Table {
    final double[] freqs; // (2, headDim), what the rotation was computed with
    final int headDim;
    boolean current;
    Rotation rotation;

    Table(double[] freqs, int headDim) {
      this.freqs = freqs;
      this.headDim = headDim;
    }
  }

  private final Arena arena;
  private final List<Table> tables = new ArrayList<>();
  private double[] freqsScratch = new double[0];
  private Tensor coords;
  private int rows;

  RopeTables(Arena arena) {
    this.arena = arena;
  }

  /** New coordinates (B·T rows of (y, x)): every table is recomputed on its next use. */
  void setCoordinates(Tensor coords, int rows) {
    this.coords = coords;
    this.rows = rows;
    for (Table t : tables) t.current = false;
  }

  /** The rotation of these coordinates by frequencies {@code freqs} (2, headDim). */
  Rotation get(Tensor freqs, int headDim) {
    if (freqsScratch.length != 2 * headDim) freqsScratch = new double[2 * headDim];
    Backend be = arena.backend();
    be.download(freqs, 0, freqsScratch, 0, 2 * headDim);
    Table table = null;
    for (Table t : tables) {
      if (t.headDim == headDim && Arrays.equals(t.freqs, freqsScratch)) table = t;
    }
    if (table == null) {
      table = new Table(freqsScratch.clone(), headDim);
      tables.add(table);
    }
    if (!table.current) {
      long t0 = Profile.now();
      Rotation old = table.rotation;
      Tensor cos = arena.get(old == null ? null : old.cos(), (long) rows * headDim);
      Tensor sin = arena.get(old == null ? null : old.sin(), (long) rows * headDim);
      if (old == null || old.cos() != cos || old.sin() != sin) table.rotation = new Rotation(cos, sin);
      be.ropeTables(coords, freqs, rows, headDim, cos, sin);
      table.current = true;
      arena.profile().add(Profile.Kind.ATTENTION, false, t0);
    }
    return table.rotation;
  }
}
