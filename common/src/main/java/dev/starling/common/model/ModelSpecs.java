package dev.starling.common.model;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.List;

import java.util.ArrayList;

import dev.starling.env.ActionSpace;
import dev.starling.env.Box;
import dev.starling.env.Discrete;
import dev.starling.env.Image;
import dev.starling.env.ObservationSpace;
import dev.starling.proto.v1.BoxSpace;
import dev.starling.proto.v1.ConvLayerSpec;
import dev.starling.proto.v1.DiscreteSpace;
import dev.starling.proto.v1.Head;
import dev.starling.proto.v1.ImageSpace;
import dev.starling.proto.v1.ModelSpec;
import dev.starling.proto.v1.TensorSpec;
import org.bytedeco.pytorch.Tensor;

/** Builds the wire {@link ModelSpec} of a model and its hash, and checks specs from peers. */
public final class ModelSpecs {

    private ModelSpecs() {
    }

    /** The spec of a live model, hash included. */
    public static ModelSpec of(ActorCritic model) {
        ModelConfig c = model.config();
        ModelSpec.Builder b = ModelSpec.newBuilder()
                .setObservationSpace(toProto(c.observationSpace()))
                .setActionSpace(toProto(c.actionSpace()))
                .addAllEncoderSizes(c.encoderSizes())
                .setLstmSize(c.lstmSize())
                .setHead(c.head() == ModelConfig.Head.DUELING_Q ? Head.HEAD_DUELING_Q : Head.HEAD_ACTOR_CRITIC);
        for (ModelConfig.ConvLayer l : c.convLayers()) {
            b.addConvLayers(ConvLayerSpec.newBuilder().setChannels(l.channels()).setKernel(l.kernel())
                    .setStride(l.stride()));
        }
        List<String> names = model.parameterNames();
        List<Tensor> params = model.parameters();
        for (int i = 0; i < names.size(); i++) {
            TensorSpec.Builder t = TensorSpec.newBuilder().setName(names.get(i));
            for (long d : params.get(i).sizes().vec().get()) {
                t.addShape(d);
            }
            b.addTensors(t);
        }
        return b.setHash(hash(b.build())).build();
    }

    /**
     * The config a spec describes.
     *
     * @throws IllegalArgumentException naming the field, if the spaces or sizes are invalid
     */
    public static ModelConfig config(ModelSpec spec) {
        List<ModelConfig.ConvLayer> conv = new ArrayList<>();
        for (ConvLayerSpec l : spec.getConvLayersList()) {
            conv.add(new ModelConfig.ConvLayer(l.getChannels(), l.getKernel(), l.getStride()));
        }
        ModelConfig.Head head = switch (spec.getHead()) {
            case HEAD_ACTOR_CRITIC -> ModelConfig.Head.ACTOR_CRITIC;
            case HEAD_DUELING_Q -> ModelConfig.Head.DUELING_Q;
            default -> throw new IllegalArgumentException("head: unknown head " + spec.getHeadValue());
        };
        return new ModelConfig(observationSpace(spec.getObservationSpace()), actionSpace(spec.getActionSpace()), conv,
                new ArrayList<>(spec.getEncoderSizesList()), spec.getLstmSize(), head);
    }

    /** The wire form of an observation space. */
    public static dev.starling.proto.v1.ObservationSpace toProto(ObservationSpace space) {
        dev.starling.proto.v1.ObservationSpace.Builder b = dev.starling.proto.v1.ObservationSpace.newBuilder();
        if (space instanceof Box box) {
            b.setBox(toProto(box));
        } else if (space instanceof Image image) {
            b.setImage(ImageSpace.newBuilder().setChannels(image.channels()).setHeight(image.height())
                    .setWidth(image.width()));
        }
        return b.build();
    }

    /** The wire form of an action space. */
    public static dev.starling.proto.v1.ActionSpace toProto(ActionSpace space) {
        dev.starling.proto.v1.ActionSpace.Builder b = dev.starling.proto.v1.ActionSpace.newBuilder();
        if (space instanceof Discrete d) {
            b.setDiscrete(DiscreteSpace.newBuilder().setN(d.n()));
        } else if (space instanceof Box box) {
            b.setBox(toProto(box));
        }
        return b.build();
    }

    /** An observation space from the wire; the exception names what is wrong. */
    public static ObservationSpace observationSpace(dev.starling.proto.v1.ObservationSpace p) {
        return switch (p.getKindCase()) {
            case BOX -> box(p.getBox(), "observation_space.box");
            case IMAGE -> {
                ImageSpace i = p.getImage();
                try {
                    yield new Image(i.getChannels(), i.getHeight(), i.getWidth());
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("observation_space.image: " + e.getMessage(), e);
                }
            }
            case KIND_NOT_SET -> throw new IllegalArgumentException("observation_space is missing");
        };
    }

    /** An action space from the wire; the exception names what is wrong. */
    public static ActionSpace actionSpace(dev.starling.proto.v1.ActionSpace p) {
        return switch (p.getKindCase()) {
            case DISCRETE -> {
                try {
                    yield new Discrete(p.getDiscrete().getN());
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("action_space.discrete: " + e.getMessage(), e);
                }
            }
            case BOX -> {
                Box b = box(p.getBox(), "action_space.box");
                if (!b.isBounded()) {
                    throw new IllegalArgumentException("action_space.box: " + b + " needs finite bounds");
                }
                yield b;
            }
            case KIND_NOT_SET -> throw new IllegalArgumentException("action_space is missing");
        };
    }

    private static BoxSpace toProto(Box box) {
        BoxSpace.Builder b = BoxSpace.newBuilder();
        for (int d : box.shape()) {
            b.addShape(d);
        }
        for (int i = 0; i < box.size(); i++) {
            b.addLow(box.low(i)).addHigh(box.high(i));
        }
        return b.build();
    }

    private static Box box(BoxSpace p, String field) {
        if (p.getShapeCount() == 0 || p.getShapeCount() > 8) {
            throw new IllegalArgumentException(field + ".shape must have 1 to 8 dimensions, got " + p.getShapeCount());
        }
        int[] shape = new int[p.getShapeCount()];
        for (int i = 0; i < shape.length; i++) {
            int d = p.getShape(i);
            if (d < 1 || d > ModelConfig.MAX_WIDTH) {
                throw new IllegalArgumentException(field + ".shape[" + i + "] must be in [1, " + ModelConfig.MAX_WIDTH
                        + "], got " + Integer.toUnsignedString(d));
            }
            shape[i] = d;
        }
        float[] low = new float[p.getLowCount()];
        float[] high = new float[p.getHighCount()];
        for (int i = 0; i < low.length; i++) {
            low[i] = p.getLow(i);
        }
        for (int i = 0; i < high.length; i++) {
            high[i] = p.getHigh(i);
        }
        try {
            return new Box(low, high, shape);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(field + ": " + e.getMessage(), e);
        }
    }

    /**
     * First 8 bytes (big-endian) of SHA-256 over the canonical text
     * {@code obs=SPACE;actions=SPACE;encoder=E1,E2;lstm=H[;conv=C:K:S...][;head=N];name:d0xd1;...} (the {@code hash} field
     * excluded; spaces in their {@code describe()} form, which carries every bound).
     */
    public static long hash(ModelSpec spec) {
        StringBuilder s = new StringBuilder()
                .append("obs=").append(spaceText(spec.getObservationSpace()))
                .append(";actions=").append(spaceText(spec.getActionSpace()))
                .append(";encoder=").append(spec.getEncoderSizesList())
                .append(";lstm=").append(spec.getLstmSize());
        // Only image models have conv layers: a box model's text, and so its hash, is as before.
        for (ConvLayerSpec l : spec.getConvLayersList()) {
            s.append(";conv=").append(l.getChannels()).append(':').append(l.getKernel()).append(':')
                    .append(l.getStride());
        }
        // Actor-critic models (every model before r2d2) hash as before.
        if (spec.getHeadValue() != Head.HEAD_ACTOR_CRITIC_VALUE) {
            s.append(";head=").append(spec.getHeadValue());
        }
        for (TensorSpec t : spec.getTensorsList()) {
            s.append(';').append(t.getName()).append(':');
            for (int i = 0; i < t.getShapeCount(); i++) {
                s.append(i == 0 ? "" : "x").append(t.getShape(i));
            }
        }
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(s.toString().getBytes(StandardCharsets.UTF_8));
            long h = 0;
            for (int i = 0; i < 8; i++) {
                h = (h << 8) | (d[i] & 0xffL);
            }
            return h;
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required by the Java platform", e);
        }
    }

    /** Number of float32 values in a blob for this spec; rejects non-positive or absurd shapes. */
    public static long elementCount(ModelSpec spec) {
        long n = 0;
        for (TensorSpec t : spec.getTensorsList()) {
            long e = 1;
            for (long d : t.getShapeList()) {
                if (d < 1 || d > ModelConfig.MAX_WIDTH * 4L) {
                    throw new IllegalArgumentException("tensor " + t.getName() + " has invalid dimension " + d);
                }
                e = Math.multiplyExact(e, d);
            }
            n = Math.addExact(n, e);
        }
        return n;
    }

    private static String spaceText(dev.starling.proto.v1.ObservationSpace p) {
        try {
            return observationSpace(p).describe();
        } catch (IllegalArgumentException e) {
            return "invalid:" + p;
        }
    }

    private static String spaceText(dev.starling.proto.v1.ActionSpace p) {
        try {
            return actionSpace(p).describe();
        } catch (IllegalArgumentException e) {
            return "invalid:" + p;
        }
    }

    /** "obs box(2), actions discrete(2), encoder [64], lstm 128", or what is wrong with it. */
    public static String describe(ModelSpec spec) {
        try {
            return config(spec).describe();
        } catch (IllegalArgumentException e) {
            return "invalid spec: " + e.getMessage();
        }
    }

    /** Human-readable hash, as logged and shown in errors. */
    public static String hex(long hash) {
        return String.format("%016x", hash);
    }
}
