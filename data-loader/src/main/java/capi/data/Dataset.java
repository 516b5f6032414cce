package capi.data;

import java.io.IOException;

/** An indexed image collection; opened by {@link Datasets#open}. Thread-safe for reading. */
public interface Dataset {
  /** Number of samples. */
  int size();

  /** Channels of the source images: 1 for grey collections, 3 when any image may be colour. */
  int channels();

  /** Number of classes (labels are in [0, classes)); 0 when the collection has no labels. */
  int classes();

  /** Label of sample i, or -1 when the collection has none. */
  int label(int i);

  /** Decodes sample i; an IOException means this one file is corrupt, truncated or unreadable. */
  RawImage decode(int i) throws IOException;

  /** Where sample i comes from (a path, a shard member), for log messages. */
  String describe(int i);
}
