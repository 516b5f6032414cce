package capi.cli;

import capi.engine.NamedTensor;
import capi.engine.checkpoint.CheckpointStore;
import capi.engine.checkpoint.SafeTensors;
import capi.monitoring.JsonLine;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * `capi export PATH --out FILE`: the teacher (EMA) backbone of a checkpoint as one safetensors file
 * under the reference's names ({@code backbone.encoder.blocks.0.residual1.fn.q_proj.weight}, ...);
 * the final line names the checkpoint and its step.
 */
@Command(name = "export", description = "Write the teacher backbone as safetensors under the reference's names.")
public final class ExportCommand implements Callable<Integer> {
  static final String TEACHER = "teacher/";
  static final String BACKBONE = "backbone.";

  @Mixin CommonOptions common;

  @Parameters(index = "0", paramLabel = "PATH", description = "A run directory or a checkpoint directory.")
  Path path;

  @Option(names = "--out", required = true, paramLabel = "FILE")
  Path out;

  @Override
  public Integer call() throws Exception {
    CheckpointStore.Checkpoint c = CheckpointStore.locate(path, LoggerFactory.getLogger(ExportCommand.class)::warn);
    List<NamedTensor> backbone = new ArrayList<>();
    for (NamedTensor t : c.tensors().values()) {
      if (t.name().startsWith(TEACHER + BACKBONE)) {
        backbone.add(new NamedTensor(t.name().substring(TEACHER.length()), t.shape(), t.data()));
      }
    }
    if (backbone.isEmpty()) {
      System.err.println("capi: " + c.dir() + " holds no teacher backbone tensors");
      return Main.EXIT_BAD_INPUT;
    }
    SafeTensors.write(out, backbone, Map.of("format", "pt", "source", c.dir().toString(), "step", Long.toString(c.step())));
    System.out.println(JsonLine.event("export").add("tensors", backbone.size()).add("file", out.toString())
        .add("checkpoint", c.dir().toString()).add("step", c.step()));
    return Main.EXIT_OK;
  }
}
