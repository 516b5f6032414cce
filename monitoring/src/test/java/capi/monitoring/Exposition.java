package capi.monitoring;

import io.prometheus.metrics.config.EscapingScheme;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import java.util.TreeSet;

/** The Prometheus text a registry serves, and lookups in it (what a scrape would see). */
final class Exposition {
  private final String text;

  private Exposition(String text) {
    this.text = text;
  }

  static Exposition of(PrometheusRegistry registry) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try {
      PrometheusTextFormatWriter.create().write(out, registry.scrape(), EscapingScheme.ALLOW_UTF8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return new Exposition(out.toString(StandardCharsets.UTF_8));
  }

  String text() {
    return text;
  }

  /** Names of all samples, with their _total/_bucket/_sum/_count suffixes. */
  Set<String> sampleNames() {
    Set<String> names = new TreeSet<>();
    for (String line : text.split("\n")) {
      if (line.isEmpty() || line.startsWith("#")) continue;
      names.add(line.split("[{ ]", 2)[0]);
    }
    return names;
  }

  /** The value of the sample written exactly as {@code series}, e.g. capi_recoveries_total{reason="x"}. */
  double value(String series) {
    for (String line : text.split("\n")) {
      if (line.startsWith(series + " ")) return Double.parseDouble(line.substring(series.length() + 1).trim());
    }
    throw new AssertionError("no sample " + series + " in\n" + text);
  }
}
