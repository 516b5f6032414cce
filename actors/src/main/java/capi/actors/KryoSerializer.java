package capi.actors;

import capi.collective.Endpoint;
import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.Serializer;
import com.esotericsoftware.kryo.io.Input;
import com.esotericsoftware.kryo.io.Output;
import com.esotericsoftware.kryo.util.Pool;
import java.util.ArrayList;
import org.apache.pekko.actor.ExtendedActorSystem;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorRefResolver;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.serialization.JSerializer;

/**
 * Pekko serializer for the control-plane messages that cross JVMs (coordinator and worker
 * protocols), on Kryo 5. Only the registered classes can be read (registration is required), so a
 * peer cannot make this node instantiate arbitrary classes. Actor references travel as Pekko's own
 * serialization format. Gradients never pass here: they go over Aeron.
 */
public final class KryoSerializer extends JSerializer {
  /** Registered message classes, in a fixed order (the ids are positions): append only. */
  private static final Class<?>[] MESSAGES = {
    Coordinator.WorkerInfo.class, Coordinator.RingJoined.class, Coordinator.WorkerLoaded.class,
    Coordinator.StepDone.class, Coordinator.WorkerFailed.class, Coordinator.StateSaved.class,
    Worker.Identify.class, Worker.JoinRing.class, Worker.Load.class, Worker.RunStep.class,
    Worker.SaveState.class, Worker.Stop.class, StepTimings.class, ArrayList.class,
    Worker.Evaluate.class, Coordinator.EvalDone.class, Double.class,
    Endpoint.Memory.class, Endpoint.Ipc.class, Endpoint.Udp.class
  };

  private final Pool<Kryo> kryos;

  public KryoSerializer(ExtendedActorSystem system) {
    ActorRefResolver resolver = ActorRefResolver.get(Adapter.toTyped(system));
    ActorRefSerializer refs = new ActorRefSerializer(resolver);
    Class<?> refClass = resolver.resolveActorRef(resolver.toSerializationFormat(Adapter.toTyped(system.deadLetters()))).getClass();
    this.kryos = new Pool<>(true, false, 16) {
      @Override
      protected Kryo create() {
        Kryo k = new Kryo();
        k.setRegistrationRequired(true);
        int id = 100;
        for (Class<?> c : MESSAGES) k.register(c, id++);
        k.register(refClass, refs, id);
        return k;
      }
    };
  }

  @Override
  public int identifier() {
    return 7301;
  }

  @Override
  public boolean includeManifest() {
    return false;
  }

  @Override
  public byte[] toBinary(Object o) {
    Kryo k = kryos.obtain();
    try (Output out = new Output(256, -1)) {
      k.writeClassAndObject(out, o);
      return out.toBytes();
    } finally {
      kryos.free(k);
    }
  }

  @Override
  public Object fromBinaryJava(byte[] bytes, Class<?> manifest) {
    Kryo k = kryos.obtain();
    try (Input in = new Input(bytes)) {
      return k.readClassAndObject(in);
    } finally {
      kryos.free(k);
    }
  }

  /** Typed actor references as their string serialization format. */
  private static final class ActorRefSerializer extends Serializer<ActorRef<?>> {
    private final ActorRefResolver resolver;

    ActorRefSerializer(ActorRefResolver resolver) {
      this.resolver = resolver;
    }

    @Override
    public void write(Kryo kryo, Output output, ActorRef<?> ref) {
      output.writeString(resolver.toSerializationFormat(ref));
    }

    @Override
    public ActorRef<?> read(Kryo kryo, Input input, Class<? extends ActorRef<?>> type) {
      return resolver.resolveActorRef(input.readString());
    }
  }
}
