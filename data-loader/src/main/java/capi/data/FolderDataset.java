package capi.data;

import capi.config.BadConfigException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/** The ImageNet layout: DIR/CLASS/IMAGE.{jpg,jpeg,png}; labels are class folders in sorted order. */
final class FolderDataset implements Dataset {
  private final List<Path> files = new ArrayList<>();
  private final List<Integer> labels = new ArrayList<>();
  private final int classes;

  FolderDataset(Path root) {
    if (!Files.isDirectory(root)) throw new BadConfigException(root + ": no such dataset directory");
    List<Path> classDirs = sorted(root).stream().filter(Files::isDirectory).toList();
    for (int c = 0; c < classDirs.size(); c++) {
      for (Path f : sorted(classDirs.get(c)).stream().filter(FolderDataset::isImage).toList()) {
        files.add(f);
        labels.add(c);
      }
    }
    if (files.isEmpty()) {
      throw new BadConfigException(root + ": no JPEG or PNG files in class subfolders (expected DIR/CLASS/IMAGE.jpg)");
    }
    classes = classDirs.size();
  }

  /** The entries of dir in name order. */
  private static List<Path> sorted(Path dir) {
    try (Stream<Path> s = Files.list(dir)) {
      return s.sorted().toList();
    } catch (IOException e) {
      throw new BadConfigException(dir + ": cannot list: " + e.getMessage());
    }
  }

  private static boolean isImage(Path p) {
    String n = p.getFileName().toString().toLowerCase(Locale.ROOT);
    return Files.isRegularFile(p) && (n.endsWith(".jpg") || n.endsWith(".jpeg") || n.endsWith(".png"));
  }

  @Override
  public int size() {
    return files.size();
  }

  @Override
  public int channels() {
    return 3;
  }

  @Override
  public int classes() {
    return classes;
  }

  @Override
  public int label(int i) {
    return labels.get(i);
  }

  @Override
  public RawImage decode(int i) throws IOException {
    return ImageDecoder.decode(Files.readAllBytes(files.get(i)));
  }

  @Override
  public String describe(int i) {
    return files.get(i).toString();
  }
}
