package capi.engine;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The RoPE cos and sin tables of one set of token coordinates, shared by every attention layer
 * that rotates at those coordinates. A table costs rows·headDim cos and sin; computed per layer,
 * that was most of the attention forward's non-GEMM time.
 *
 * <p>RoPE frequencies are frozen (lr × 0, and the EMA keeps equal values equal), so tables are
 * keyed by the frequencies' values as last read from the host ({@link Param#host}, set when
 * parameters are loaded): layers with equal frequencies share one table and no step reads
 * anything back. A parameter without host values (a teacher whose frequencies differ from the
 * student's, so the EMA moves them) gets its own table, recomputed every forward.
 *
 * <p>Coordinates are either constant ({@link #setConstant}: the full grid of one sample, whose
 * tables serve every sample and every step until the frequencies change) or per step
 * ({@link #setCoordinates}).
 */
final class RopeTables {
  /** A layer's rotation: cos and sin (tableRows, headDim); row r of the rotated tensor uses table row r % tableRows. */
  record Rotation(Tensor cos, Tensor sin, long tableRows) {}

  private static final class Table {
    final double[] freqs; // the frozen values, or null: keyed by the parameter itself
    final Param param;
    final int headDim;
    boolean current;
    Rotation rotation;

    Table(double[] freqs, Param param, int headDim) {
      this.freqs = freqs;
      this.param = param;
      this.headDim = headDim;
    }

    boolean matches(Param p, int d) {
      if (headDim != d) return false;
      return p.host != null ? freqs != null && Arrays.equals(freqs, p.host) : param == p;
    }
  }

  private final Arena arena;
  private final List<Table> tables = new ArrayList<>();
  private Tensor coords;
  private long rows;

  RopeTables(Arena arena) {
    this.arena = arena;
  }

  /** Per-step coordinates (rows of (y, x)): every table is recomputed on its next use. */
  void setCoordinates(Tensor coords, long rows) {
    this.coords = coords;
    this.rows = rows;
    for (Table t : tables) t.current = false;
  }

  /**
   * Constant coordinates: tables already computed for these rows stay valid (only the tables of
   * non-frozen frequencies are recomputed, once per forward).
   */
  void setConstant(Tensor coords, long rows) {
    if (coords != this.coords || rows != this.rows) {
      setCoordinates(coords, rows);
      return;
    }
    for (Table t : tables) if (t.freqs == null) t.current = false;
  }

  /** Whether tables at constant coordinates exist and are valid (so the coordinates need not be recomputed). */
  boolean holds(Tensor coords, long rows) {
    return coords == this.coords && rows == this.rows && !tables.isEmpty();
  }

  /** The frequencies changed on the host: drop every table. */
  void invalidate() {
    tables.clear();
    coords = null;
  }

  /** The rotation of the coordinates by frequencies {@code freqs} (2, headDim). */
  Rotation get(Param freqs, int headDim) {
    Table table = null;
    for (Table t : tables) if (t.matches(freqs, headDim)) table = t;
    if (table == null) {
      table = new Table(freqs.host == null ? null : freqs.host.clone(), freqs, headDim);
      tables.add(table);
    }
    if (!table.current) {
      long t0 = Profile.now();
      Rotation old = table.rotation;
      Tensor cos = arena.get(old == null ? null : old.cos(), arena.master(), rows * headDim);
      Tensor sin = arena.get(old == null ? null : old.sin(), arena.master(), rows * headDim);
      table.rotation = new Rotation(cos, sin, rows);
      arena.backend().ropeTables(coords, freqs.value, rows, headDim, cos, sin);
      table.current = true;
      arena.profile().add(Profile.Kind.ATTENTION, false, t0);
    }
    return table.rotation;
  }
}
