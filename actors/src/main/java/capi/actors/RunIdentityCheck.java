package capi.actors;

import com.typesafe.config.Config;
import java.util.List;
import org.apache.pekko.cluster.ConfigValidation;
import org.apache.pekko.cluster.Invalid;
import org.apache.pekko.cluster.JoinConfigCompatChecker;
import org.apache.pekko.cluster.Valid$;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.jdk.javaapi.CollectionConverters;

/**
 * Pekko's join handshake carries the joining node's run id (capi.cluster.run-id); a member refuses a
 * node whose run id differs from its own and logs it, and the refused node's actor system stops
 * (TrainingRun then exits 1 naming the reason). Registered by ClusterSettings.
 */
public final class RunIdentityCheck extends JoinConfigCompatChecker {
  /** Where ClusterSettings puts the run id in the actor system's configuration. */
  static final String KEY = "capi-cluster.run-id";
  private static final Logger LOG = LoggerFactory.getLogger(RunIdentityCheck.class);

  @Override
  public scala.collection.immutable.Seq<String> requiredKeys() {
    return CollectionConverters.asScala(List.of(KEY)).toList();
  }

  @Override
  public ConfigValidation check(Config toCheck, Config actualConfig) {
    String theirs = toCheck.hasPath(KEY) ? toCheck.getString(KEY) : "(none)";
    String ours = actualConfig.getString(KEY);
    if (ours.equals(theirs)) return Valid$.MODULE$;
    LOG.warn("refusing a join between runs: the other node's run id is \"{}\", this node's \"{}\"", theirs, ours);
    return new Invalid(CollectionConverters.asScala(List.of(
        "run id \"" + theirs + "\" is not this cluster's run \"" + ours + "\" (capi.cluster.run-id)")).toList());
  }
}
