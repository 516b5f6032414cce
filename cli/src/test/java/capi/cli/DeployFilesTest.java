package capi.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import capi.config.CapiConfig;
import capi.config.ClusterConfig;
import capi.config.Overrides;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLParser;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * deploy/: the Kubernetes manifests agree with each other and with what `capi node` expects (the
 * bootstrap's pod label and port name, the ports of reference.conf, POD_IP), and the Slurm script
 * is valid bash that starts one capi node per node.
 */
class DeployFilesTest {
  private static Path deploy() {
    for (Path d = Path.of("").toAbsolutePath(); d != null; d = d.getParent()) {
      if (Files.isDirectory(d.resolve("deploy/kubernetes"))) return d.resolve("deploy");
    }
    throw new IllegalStateException("no deploy/kubernetes above " + Path.of("").toAbsolutePath());
  }

  /** Every document of a YAML file. */
  private static List<JsonNode> documents(Path file) throws Exception {
    ObjectMapper yaml = new ObjectMapper(new YAMLFactory());
    List<JsonNode> docs = new ArrayList<>();
    try (YAMLParser p = new YAMLFactory().createParser(file.toFile())) {
      var it = yaml.readValues(p, JsonNode.class);
      while (it.hasNext()) docs.add(it.next());
    }
    return docs;
  }

  private static JsonNode kind(Path file, String kind) throws Exception {
    return documents(file).stream().filter(d -> d.path("kind").asText().equals(kind)).findFirst()
        .orElseThrow(() -> new AssertionError("no " + kind + " in " + file));
  }

  @Test
  void kubernetesManifestsMatchTheBootstrapAndEachOther() throws Exception {
    Path k = deploy().resolve("kubernetes");
    ClusterConfig defaults = CapiConfig.load(null, Overrides.none()).cluster();
    JsonNode job = kind(k.resolve("job.yaml"), "Job");
    JsonNode pod = job.path("spec").path("template");
    JsonNode service = kind(k.resolve("service.yaml"), "Service");
    // Cluster Bootstrap (kubernetes-api) lists pods labelled app=<service-name> and contacts their port "management".
    assertEquals(defaults.bootstrap().serviceName(), pod.path("metadata").path("labels").path("app").asText());
    assertEquals(service.path("spec").path("selector"), pod.path("metadata").path("labels"));
    assertEquals("None", service.path("spec").path("clusterIP").asText());
    assertEquals("capi", pod.path("spec").path("subdomain").asText());
    JsonNode container = pod.path("spec").path("containers").get(0);
    List<String> ports = new ArrayList<>();
    for (JsonNode p : container.path("ports")) ports.add(p.path("name").asText() + "=" + p.path("containerPort").asInt());
    assertEquals(List.of("cluster=" + ClusterConfig.DEFAULT_PORT, "management=" + defaults.bootstrap().managementPort(),
        "metrics=" + CapiConfig.load(null, Overrides.none()).monitoring().metricsPort()), ports);
    assertEquals(container.path("ports").get(2).path("containerPort").asText(),
        pod.path("metadata").path("annotations").path("prometheus.io/port").asText());
    assertEquals("true", pod.path("metadata").path("annotations").path("prometheus.io/scrape").asText());
    assertEquals("status.podIP", container.path("env").get(0).path("valueFrom").path("fieldRef").path("fieldPath").asText());
    assertEquals("POD_IP", container.path("env").get(0).path("name").asText());
    assertTrue(container.path("args").toString().contains("-Dcapi.cluster.min-nodes=" + job.path("spec").path("completions").asInt()),
        "min-nodes is the number of pods: " + container.path("args"));
    // The pods may list pods: the ServiceAccount the Job runs as is bound to a Role that reads pods.
    String account = pod.path("spec").path("serviceAccountName").asText();
    assertEquals(account, kind(k.resolve("rbac.yaml"), "ServiceAccount").path("metadata").path("name").asText());
    JsonNode binding = kind(k.resolve("rbac.yaml"), "RoleBinding");
    assertEquals(account, binding.path("subjects").get(0).path("name").asText());
    JsonNode rule = kind(k.resolve("rbac.yaml"), "Role").path("rules").get(0);
    assertEquals("[\"pods\"]", rule.path("resources").toString());
    assertTrue(rule.path("verbs").toString().contains("list"));
    assertEquals(kind(k.resolve("pvc.yaml"), "PersistentVolumeClaim").path("metadata").path("name").asText(),
        pod.path("spec").path("volumes").get(0).path("persistentVolumeClaim").path("claimName").asText());
  }

  @Test
  void theSlurmScriptIsBashThatRunsOneNodePerNode() throws Exception {
    Path script = deploy().resolve("slurm/capi.sbatch");
    Process p = new ProcessBuilder("bash", "-n", script.toString()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    assertTrue(p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0, out);
    String text = Files.readString(script);
    assertTrue(text.contains("#SBATCH --ntasks-per-node=1"), text);
    assertTrue(text.contains("srun --kill-on-bad-exit=0 \"$CAPI\" node"), text);
  }
}
