package capi.actors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import capi.collective.Endpoint;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.actor.ExtendedActorSystem;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** Every message that crosses JVMs survives the Kryo serializer; nothing else is accepted. */
class KryoSerializerTest {
  private static final ActorTestKit KIT = ActorTestKit.create();

  @AfterAll
  static void stop() {
    KIT.shutdownTestKit();
  }

  private static KryoSerializer serializer() {
    return new KryoSerializer((ExtendedActorSystem) Adapter.toClassic(KIT.system()));
  }

  @Test
  void protocolMessagesRoundTrip() {
    KryoSerializer s = serializer();
    TestProbe<Coordinator.Command> coordinator = KIT.createTestProbe();
    TestProbe<Worker.Command> worker = KIT.createTestProbe();
    StepTimings timings = new StepTimings(0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 1234, 2);
    List<Object> messages = List.of(
        new Coordinator.WorkerInfo(worker.getRef(), "127.0.0.1", "/dev/shm/capi-node-12-00000000000000ab",
            "pekko://capi@127.0.0.1:25520", true),
        new Coordinator.RingJoined(3, 1),
        new Coordinator.WorkerLoaded(3, 0),
        new Coordinator.StepDone(3, 41, 1, 5.2, 10.1, 2.3, 7.5, timings, -77L),
        new Coordinator.WorkerFailed(3, 1, 41, "peer rank 0 died", 0),
        new Coordinator.StateSaved(3, 42, 0),
        new Coordinator.EvalDone(3, 42, new ArrayList<>(List.of("knn", "linear")),
            new ArrayList<>(List.of("global_repr", "global_repr")), new ArrayList<>(List.of(0.81, 0.86))),
        new Worker.Identify(coordinator.getRef()),
        new Worker.JoinRing(4, 1, 2, new ArrayList<>(List.of(new Endpoint.Udp("10.0.0.1", 40123, "/dev/shm/capi-node-12-00000000000000ab"),
            new Endpoint.Udp("10.0.0.2", 40124))), coordinator.getRef()),
        new Worker.JoinRing(5, 0, 2, new ArrayList<>(List.of(Endpoint.MEMORY, Endpoint.MEMORY)), coordinator.getRef()),
        new Worker.JoinRing(5, 0, 2, new ArrayList<>(List.of(Endpoint.IPC, Endpoint.IPC)), coordinator.getRef()),
        new Worker.Load(4, "/runs/x/checkpoints/step-00000040", 40, coordinator.getRef()),
        new Worker.Load(4, null, 0, coordinator.getRef()),
        new Worker.RunStep(4, 40, 1e-3, 0.999, 5e-4, true, coordinator.getRef()),
        new Worker.SaveState(4, 42, "/runs/x/checkpoints/.tmp", coordinator.getRef()),
        new Worker.Evaluate(4, 42, coordinator.getRef()),
        new Worker.Stop());
    for (Object m : messages) assertEquals(m, s.fromBinaryJava(s.toBinary(m), null), m.getClass().getName());
  }

  @Test
  void unregisteredClassesAreRefused() {
    KryoSerializer s = serializer();
    assertThrows(IllegalArgumentException.class, () -> s.toBinary(new java.util.Date()));
  }
}
