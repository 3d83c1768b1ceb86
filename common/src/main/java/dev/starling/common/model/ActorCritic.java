package dev.starling.common.model;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.LSTMImpl;
import org.bytedeco.pytorch.LSTMOptions;
import org.bytedeco.pytorch.LinearImpl;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.StringTensorDict;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * The LSTM actor-critic on libtorch: {@code tanh(Linear(obs -> E))} -> single-layer
 * {@code LSTM(E -> H)} -> {@code Linear(H -> A + 1)}, whose first A outputs are the policy
 * logits and whose last output is the state value.
 *
 * <p>The parameter order (and so the layout of every weight blob) is the registration order:
 * {@code encoder.weight, encoder.bias, lstm.weight_ih_l0, lstm.weight_hh_l0, lstm.bias_ih_l0,
 * lstm.bias_hh_l0, head.weight, head.bias}.
 *
 * <p>Not thread-safe. The instance owns its native module; {@link #close()} releases it. Build it
 * outside any {@code PointerScope}: it must outlive every update and inference step.
 */
public final class ActorCritic implements AutoCloseable {

    private final ModelConfig config;
    private final Device device;
    private final Module root;
    private final LinearImpl encoder;
    private final LSTMImpl lstm;
    private final LinearImpl head;
    private final List<String> parameterNames;
    private final List<Tensor> parameters;
    private final Tensor weightIh;
    private final Tensor weightHh;
    private final Tensor biasIh;
    private final Tensor biasHh;
    private boolean closed;

    /** A freshly initialised model; the same seed gives the same weights. */
    public ActorCritic(ModelConfig config, long seed, Device device) {
        Torch.init();
        this.config = config;
        this.device = device;
        torch.manual_seed(seed);
        root = new Module();
        encoder = root.register_module("encoder", new LinearImpl(config.observationSize(), config.encoderSize()));
        lstm = root.register_module("lstm", new LSTMImpl(new LSTMOptions(config.encoderSize(), config.lstmSize())));
        head = root.register_module("head", new LinearImpl(config.lstmSize(), config.numActions() + 1));
        try (NoGradGuard ignored = new NoGradGuard()) {
            // Small policy logits at the start: near-uniform actions (the value rows keep the
            // default init so the baseline can grow quickly).
            head.weight().narrow(0, 0, config.numActions()).mul_(new org.bytedeco.pytorch.Scalar(0.01));
            head.bias().zero_();
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

    /** {@code tanh(encoder(obs))} for observations of shape {@code [..., obs]}. */
    public Tensor encode(Tensor observations) {
        return encoder.forward(observations).tanh();
    }

    /** The LSTM module itself (time-major input {@code [L, N, E]}). */
    public LSTMImpl lstm() {
        return lstm;
    }

    /** {@code [..., A + 1]}: policy logits followed by the value. */
    public Tensor head(Tensor core) {
        return head.forward(core);
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
