package capi.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import capi.config.CollectiveConfig.Channel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Loading: layers, unknown keys, sections given values, the saved config.conf round trip. */
class CapiConfigTest {
  @TempDir Path tmp;

  @Test
  void laterLayersWin() throws IOException {
    Path file = tmp.resolve("run.conf");
    Files.writeString(file, "capi.train.steps = 50\ncapi.train.seed = 7\n");
    CapiConfig c = CapiConfig.load(file, Overrides.commandLine(Map.of("capi.train.steps", "60")).preset("tiny"));
    assertEquals("tiny", c.preset());
    assertEquals(60, c.train().steps()); // -D over the file
    assertEquals(7, c.train().seed()); // the file over the preset
    assertEquals(128, c.model().dim()); // the preset over reference.conf
    assertEquals(1000, c.checkpoint().every());
    Overrides options = Overrides.commandLine(Map.of("capi.train.steps", "60")).steps(70L).steps(null);
    assertEquals(70, CapiConfig.load(null, options).train().steps()); // a command option over -D; null sets nothing
  }

  @Test
  void aMisspeltKeyFailsNamingTheClosestKnownKey() {
    BadConfigException e = assertThrows(BadConfigException.class,
        () -> CapiConfig.load(null, Overrides.commandLine(Map.of("capi.optim.lrr", "1"))));
    assertEquals("capi.optim.lrr (command line): unknown key; did you mean capi.optim.lr?", e.getMessage());
    e = assertThrows(BadConfigException.class,
        () -> CapiConfig.load(null, Overrides.commandLine(Map.of("capi.trian.steps", "1"))));
    assertTrue(e.getMessage().endsWith("did you mean capi.train.steps?"), e.getMessage());
  }

  @Test
  void aValueInPlaceOfASectionFailsInOneLine() {
    BadConfigException e = assertThrows(BadConfigException.class,
        () -> CapiConfig.load(null, Overrides.commandLine(Map.of("capi.optim", "1"))));
    assertTrue(e.getMessage().startsWith("capi.optim (command line): is a section, not a value; set its keys, e.g. capi.optim."),
        e.getMessage());
    assertEquals(1, e.getMessage().lines().count());
  }

  @Test
  void fileKeysAreCheckedToo() throws IOException {
    Path file = tmp.resolve("bad.conf");
    Files.writeString(file, "capi { model { dimm = 64 } }\n");
    BadConfigException e = assertThrows(BadConfigException.class, () -> CapiConfig.load(file, Overrides.none()));
    assertTrue(e.getMessage().startsWith("capi.model.dimm (--config " + file + "): unknown key; did you mean capi.model.dim?"),
        e.getMessage());
  }

  @Test
  void pekkoSettingsAndPresetSectionsPassWhenTheirKeysAreKnown() throws IOException {
    Path file = tmp.resolve("ok.conf");
    Files.writeString(file, "capi.cluster.pekko.remote.artery.advanced.maximum-frame-size = 1MiB\n"
        + "capi.presets.mine.model.dim = 64\ncapi.preset = mine\n");
    assertThrows(BadConfigException.class, () -> CapiConfig.load(file, Overrides.none())); // mine is not a preset of reference.conf
    Files.writeString(file, "capi.cluster.pekko.remote.artery.advanced.maximum-frame-size = 1MiB\n"
        + "capi.presets.tiny.model.dimm = 64\n");
    BadConfigException e = assertThrows(BadConfigException.class, () -> CapiConfig.load(file, Overrides.none()));
    assertTrue(e.getMessage().contains("did you mean capi.model.dim?"), e.getMessage());
  }

  @Test
  void aSavedConfigurationReadsBackEqual() throws IOException {
    CapiConfig c = CapiConfig.load(null, Overrides.none().preset("tiny").steps(123L).set("collective.channel", "udp"));
    Path saved = tmp.resolve("config.conf");
    Files.writeString(saved, c.hocon());
    CapiConfig back = CapiConfig.read(saved, Overrides.none());
    assertEquals(c.hocon(), back.hocon());
    assertEquals(c.train(), back.train());
    assertEquals(CollectiveConfig.Channel.UDP, back.collective().channel());
    assertEquals(200, CapiConfig.read(saved, Overrides.none().steps(200L)).train().steps());
    assertEquals(9, c.with(Overrides.none().set("train.seed", 9)).train().seed());
  }

  @Test
  void syntaxErrorsAndBadEnumWordsAreOneLineErrors() throws IOException {
    Path file = tmp.resolve("broken.conf");
    Files.writeString(file, "capi { model { dim = \n");
    BadConfigException e = assertThrows(BadConfigException.class, () -> CapiConfig.load(file, Overrides.none()));
    assertTrue(e.getMessage().startsWith("--config " + file), e.getMessage());
    e = assertThrows(BadConfigException.class,
        () -> CapiConfig.load(null, Overrides.none().set("collective.threading-mode", "sharednetwork")));
    assertEquals("capi.collective.threading-mode = sharednetwork: must be one of invoker, shared, shared-network, dedicated",
        e.getMessage());
  }

  @Test
  void editDistance() {
    assertEquals(0, KnownKeys.editDistance("abc", "abc"));
    assertEquals(1, KnownKeys.editDistance("lr", "lrr"));
    assertEquals(2, KnownKeys.editDistance("trian", "train"));
  }
}
