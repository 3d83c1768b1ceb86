package dev.starling.common.model;

import java.util.Locale;
import java.util.concurrent.atomic.AtomicBoolean;

import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/** Process-wide libtorch set-up and the small tensor helpers every role uses. */
public final class Torch {

    private static final AtomicBoolean INITIALISED = new AtomicBoolean();

    private Torch() {
    }

    /**
     * Loads libtorch and pins its intra-op thread pool. One thread per process: on these small
     * machines a second libtorch thread was erratic and slower, and Starling gets its
     * parallelism from separate processes instead.
     */
    public static void init() {
        if (INITIALISED.compareAndSet(false, true)) {
            int threads = Integer.getInteger("starling.torch.threads", 1);
            torch.set_num_threads(threads);
        }
    }

    /**
     * Loads libtorch (extracting its native libraries on first use) and names the devices it
     * sees: {@code cpu}, or {@code cpu, cuda x N} with a CUDA build on a machine with GPUs.
     */
    public static String devices() {
        init();
        return torch.cuda_is_available() ? "cpu, cuda x " + torch.cuda_device_count() : "cpu";
    }

    /** Resolves {@code auto|cpu|cuda}; {@code auto} picks CUDA when libtorch sees a GPU. */
    public static Device device(String name) {
        init();
        String n = name.toLowerCase(Locale.ROOT);
        switch (n) {
            case "cpu":
                return new Device(torch.DeviceType.CPU);
            case "cuda":
                if (!torch.cuda_is_available()) {
                    throw new IllegalArgumentException(
                            "--device cuda was requested but libtorch sees no CUDA device"
                                    + " (build with -Pgpu and run with a GPU)");
                }
                return new Device(torch.DeviceType.CUDA);
            case "auto":
                return torch.cuda_is_available() ? new Device(torch.DeviceType.CUDA) : new Device(torch.DeviceType.CPU);
            default:
                throw new IllegalArgumentException("unknown device '" + name + "': expected auto, cpu or cuda");
        }
    }

    /** A float32 tensor of the given shape holding a copy of {@code data}, on {@code device}. */
    public static Tensor floats(float[] data, Device device, long... shape) {
        Tensor cpu = Tensor.create(data, shape);
        return device.is_cpu() ? cpu : cpu.to(device, torch.ScalarType.Float);
    }

    /** An int64 tensor of the given shape holding {@code data}, on {@code device}. */
    public static Tensor longs(long[] data, Device device, long... shape) {
        Tensor cpu = Tensor.create(data, shape);
        return device.is_cpu() ? cpu : cpu.to(device, torch.ScalarType.Long);
    }

    /** Copies a float32 tensor (any device) into {@code out}, which must hold exactly numel values. */
    public static void read(Tensor t, float[] out) {
        Tensor src = t.is_cpu() ? t.contiguous() : t.cpu().contiguous();
        long n = src.numel();
        if (n != out.length) {
            throw new IllegalArgumentException("tensor has " + n + " elements, array has " + out.length);
        }
        src.data_ptr_float().get(out);
    }

    /** A new float array with the tensor's values. */
    public static float[] toArray(Tensor t) {
        float[] out = new float[(int) t.numel()];
        read(t, out);
        return out;
    }
}
