package dev.starling.common.model;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

import dev.starling.env.Image;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.pytorch.AutoGradMode;
import org.bytedeco.pytorch.Conv2dImpl;
import org.bytedeco.pytorch.Conv2dOptions;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.GradMode;
import org.bytedeco.pytorch.LSTMImpl;
import org.bytedeco.pytorch.LSTMOptions;
import org.bytedeco.pytorch.LinearImpl;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.StringTensorDict;
import org.bytedeco.pytorch.T_TensorT_TensorTensor_T_T;
import org.bytedeco.pytorch.T_TensorTensor_T;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * The LSTM actor-critic on libtorch, built from a {@link ModelConfig}: for image observations
 * ReLU convolutions ({@code conv}, {@code conv_1}, ...), then an MLP encoder of tanh
 * layers ({@code encoder}, {@code encoder_1}, ...) -> single-layer {@code LSTM(E -> H)} ->
 * {@code Linear(H -> P + 1)}, whose first P outputs parameterise the policy (categorical
 * logits, or Gaussian means) and whose last output is the state value. A continuous policy
 * also has {@code log_std} {@code [D]}, the learned log standard deviations.
 *
 * <p>The parameter order (and so the layout of every weight blob) is libtorch's
 * {@code named_parameters} order: the root's own {@code log_std} first, then
 * {@code conv.weight, conv.bias, ...} (images), {@code encoder.weight, encoder.bias, ..., lstm.weight_ih_l0, lstm.weight_hh_l0,
 * lstm.bias_ih_l0, lstm.bias_hh_l0, head.weight, head.bias}.
 *
 * <p>Not thread-safe. The instance owns its native module; {@link #close()} releases it. Build it
 * outside any {@code PointerScope}: it must outlive every update and inference step.
 */
public final class ActorCritic implements AutoCloseable {

    private final ModelConfig config;
    private final Device device;
    private final Module root;
    /** The image's shape when the observation is an image (the conv layers read it), else null. */
    private final Image image_;
    private final List<Conv2dImpl> conv;
    private final List<LinearImpl> encoder;
    private final LSTMImpl lstm;
    private final LinearImpl head;
    private final List<String> parameterNames;
    private final List<Tensor> parameters;
    private final Tensor weightIh;
    private final Tensor weightHh;
    private final Tensor biasIh;
    private final Tensor biasHh;
    private final Tensor logStd;
    private boolean closed;

    /** A freshly initialised model; the same seed gives the same weights. */
    public ActorCritic(ModelConfig config, long seed, Device device) {
        Torch.init();
        this.config = config;
        this.device = device;
        torch.manual_seed(seed);
        root = new Module();
        List<Conv2dImpl> convLayers = new ArrayList<>();
        if (config.observationSpace() instanceof Image image) {
            image_ = image;
            long channels = image.channels();
            for (int i = 0; i < config.convLayers().size(); i++) {
                ModelConfig.ConvLayer l = config.convLayers().get(i);
                Conv2dOptions options = new Conv2dOptions(channels, l.channels(), new LongPointer(l.kernel(), l.kernel()));
                options.stride().put(0, l.stride()).put(1, l.stride());
                Conv2dImpl layer = root.register_module(i == 0 ? "conv" : "conv_" + i, new Conv2dImpl(options));
                // Orthogonal weights of gain sqrt(2) and zero biases keep the scale of what a ReLU
                // layer passes on (cleanrl's Atari init). libtorch's default init shrinks it layer
                // by layer until a 2x2 ball hardly moves the features past the biases.
                torch.orthogonal_(layer.weight().detach(), Math.sqrt(2));
                layer.bias().detach().zero_();
                convLayers.add(layer);
                channels = l.channels();
            }
        } else {
            image_ = null;
        }
        conv = Collections.unmodifiableList(convLayers);
        List<LinearImpl> layers = new ArrayList<>();
        int in = config.encoderInputSize();
        for (int i = 0; i < config.encoderSizes().size(); i++) {
            int out = config.encoderSizes().get(i);
            layers.add(root.register_module(i == 0 ? "encoder" : "encoder_" + i, new LinearImpl(in, out)));
            in = out;
        }
        encoder = Collections.unmodifiableList(layers);
        lstm = root.register_module("lstm", new LSTMImpl(new LSTMOptions(config.encoderSize(), config.lstmSize())));
        int policy = config.policyOutputs();
        head = root.register_module("head", new LinearImpl(config.lstmSize(), policy + 1));
        // Small policy outputs at the start: near-uniform actions, or means near zero (the value
        // row keeps the default init so the baseline can grow quickly). On detached views:
        // initialisation is no graph.
        head.weight().detach().narrow(0, 0, policy).mul_(new org.bytedeco.pytorch.Scalar(0.01));
        head.bias().detach().zero_();
        if (config.continuous()) {
            // log std 0: a standard deviation of 1 at the start.
            root.register_parameter("log_std", torch.zeros(config.actionSize()), true);
        }
        if (!device.is_cpu()) {
            root.to(device, false);
        }
        StringTensorDict named = root.named_parameters(true);
        List<String> names = new ArrayList<>();
        List<Tensor> params = new ArrayList<>();
        for (long i = 0; i < named.size(); i++) {
            names.add(named.get(i).key().getString());
            // value() is a reference into the dict, which is freed with it: take an owning handle.
            params.add(new Tensor(named.get(i).value()));
        }
        named.close();
        parameterNames = Collections.unmodifiableList(names);
        parameters = Collections.unmodifiableList(params);
        weightIh = parameter("lstm.weight_ih_l0");
        weightHh = parameter("lstm.weight_hh_l0");
        biasIh = parameter("lstm.bias_ih_l0");
        biasHh = parameter("lstm.bias_hh_l0");
        logStd = config.continuous() ? parameter("log_std") : null;
    }

    public ModelConfig config() {
        return config;
    }

    public Device device() {
        return device;
    }

    /** Parameter names in blob order. */
    public List<String> parameterNames() {
        return parameterNames;
    }

    /** Parameter tensors in blob order (live: writing them changes the model). */
    public List<Tensor> parameters() {
        return parameters;
    }

    public Tensor parameter(String name) {
        int i = parameterNames.indexOf(name);
        if (i < 0) {
            throw new IllegalArgumentException("no parameter named " + name + "; have " + parameterNames);
        }
        return parameters.get(i);
    }

    /** Total number of scalar parameters. */
    public long parameterCount() {
        long n = 0;
        for (Tensor p : parameters) {
            n += p.numel();
        }
        return n;
    }

    /**
     * The encoder's output for observations of shape {@code [..., obs]}: {@code [..., E]}. Image
     * observations (flattened row-major) go through the conv layers as {@code [N, C, H, W]}
     * first; as uint8 pixels they are scaled to [0, 1] here, on the model's device, so they cross
     * the wire and the host-to-device copy at one byte each (float input is taken as scaled).
     */
    public Tensor encode(Tensor observations) {
        Tensor x = observations;
        // Compared by value: the preset's scalar_type() does not return the enum's own constant.
        if (x.scalar_type().value == torch.ScalarType.Byte.value) {
            x = x.to(torch.ScalarType.Float).mul(new Scalar(1.0 / 255));
        }
        if (image_ != null) {
            long[] lead = x.sizes().vec().get();
            x = x.reshape(-1, image_.channels(), image_.height(), image_.width());
            for (Conv2dImpl layer : conv) {
                x = layer.forward(x).relu();
            }
            lead[lead.length - 1] = config.encoderInputSize();
            x = x.reshape(lead);
        }
        for (LinearImpl layer : encoder) {
            x = layer.forward(x).tanh();
        }
        return x;
    }

    /** The learned log standard deviations {@code [D]} of a continuous policy. */
    public Tensor logStd() {
        if (logStd == null) {
            throw new IllegalStateException("a discrete policy has no log_std");
        }
        return logStd;
    }

    /** The policy distribution of this model's action space. */
    public PolicyDistribution distribution() {
        return PolicyDistribution.of(config);
    }

    /** What one call of the LSTM module returns: outputs {@code [L, N, H]} and the final state {@code [1, N, H]}. */
    public record LstmOutput(Tensor output, Tensor h, Tensor c) {
    }

    /**
     * Runs the LSTM module over time-major input {@code [L, N, E]} from the state
     * {@code (h0, c0)}, each {@code [1, N, H]}. The only way to call the module: it always runs
     * with gradient mode on, because with gradients off libtorch 2.10 sends it to oneDNN's
     * inference kernel, which returns wrong values on AVX-512 CPUs for hidden sizes with
     * {@code H mod 32} in 1..16 (FACTS.md; {@code LstmKernelCanaryTest}). The training kernel is
     * right everywhere. Called under no-grad or inference mode, the outputs are detached, so no
     * graph outlives the call. Call inside a {@code PointerScope}.
     */
    @SuppressWarnings("try")
    public LstmOutput lstmForward(Tensor input, Tensor h0, Tensor c0) {
        boolean gradOff = !GradMode.is_enabled();
        try (AutoGradMode on = new AutoGradMode(true)) {
            T_TensorT_TensorTensor_T_T r = lstm.forward(input, new T_TensorTensor_T(h0, c0));
            // The tuple hands out references into its own storage: copy before it goes.
            T_TensorTensor_T state = r.get1();
            Tensor y = new Tensor(r.get0());
            Tensor h = new Tensor(state.get0());
            Tensor c = new Tensor(state.get1());
            return gradOff ? new LstmOutput(y.detach(), h.detach(), c.detach()) : new LstmOutput(y, h, c);
        }
    }

    /**
     * {@code [..., P + 1]}: the policy's outputs followed by the value; for a dueling Q-network
     * ({@link ModelConfig.Head#DUELING_Q}) the P actions' Q-values followed by their maximum. The
     * Q-network's linear layer has the same shape: its first P outputs are the advantages, the
     * last the state value.
     */
    public Tensor head(Tensor core) {
        Tensor y = head.forward(core);
        if (config.head() == ModelConfig.Head.ACTOR_CRITIC) {
            return y;
        }
        int p = config.policyOutputs();
        int last = (int) y.dim() - 1;
        Tensor advantages = y.narrow(last, 0, p);
        Tensor q = advantages.sub(advantages.mean(new long[] {last}, true, new ScalarTypeOptional()))
                .add(y.narrow(last, p, 1));
        return torch.cat(new TensorVector(q, q.amax(new long[] {last}, true)), last);
    }

    /** The raw module, for the kernel canary test only: everything else calls {@link #lstmForward}. */
    LSTMImpl lstmModuleForTests() {
        return lstm;
    }

    /** LSTM weights for the per-step cell used by actors (same tensors as the LSTM's). */
    Tensor weightIh() {
        return weightIh;
    }

    Tensor weightHh() {
        return weightHh;
    }

    Tensor biasIh() {
        return biasIh;
    }

    Tensor biasHh() {
        return biasHh;
    }

    /** Clears every parameter's gradient (sets it to zero, keeping the buffers). */
    public void zeroGrad() {
        root.zero_grad(false);
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            root.close();
        }
    }
}
