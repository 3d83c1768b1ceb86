package dev.starling.common.model;

import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.logging.Logger;

import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/** Process-wide libtorch set-up and the small tensor helpers every role uses. */
public final class Torch {

    private static final Logger LOG = Logger.getLogger(Torch.class.getName());

    private static final AtomicBoolean INITIALISED = new AtomicBoolean();

    /**
     * glibc allocator settings for every process that runs libtorch. The fused LSTM allocates
     * buffers of several MiB in every update; above glibc's mmap threshold each is mapped and
     * unmapped again, and page faults are expensive on virtual machines (a learner update swung
     * between 12 and 83 ms on one). A 1 GiB mmap threshold, a 4 GiB trim threshold and 512 MiB
     * of top padding keep those buffers in the heap and reuse them. glibc reads these variables
     * only at process start, so the launcher script, the launcher's children and the container
     * images set them (tests check that they carry exactly these values).
     */
    public static final Map<String, String> ALLOCATOR_ENVIRONMENT = Map.of(
            "MALLOC_MMAP_THRESHOLD_", "1073741824",
            "MALLOC_TRIM_THRESHOLD_", "4294967296",
            "MALLOC_TOP_PAD_", "536870912");

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
            if (!allocatorConfigured(System.getenv())) {
                LOG.warning("glibc's allocator is not set up for libtorch: start this process through ./starling, the"
                        + " container image or with " + allocatorSettings() + " in its environment, or large"
                        + " libtorch buffers are mapped and unmapped on every update (slow on virtual machines)");
            }
        }
    }

    /** True if {@code environment} carries every allocator setting of {@link #ALLOCATOR_ENVIRONMENT}. */
    public static boolean allocatorConfigured(Map<String, String> environment) {
        return ALLOCATOR_ENVIRONMENT.keySet().stream().allMatch(environment::containsKey);
    }

    /** The allocator settings as {@code NAME=value} words, for messages and scripts. */
    public static String allocatorSettings() {
        return ALLOCATOR_ENVIRONMENT.entrySet().stream().sorted(Map.Entry.comparingByKey())
                .map(e -> e.getKey() + "=" + e.getValue()).reduce((a, b) -> a + " " + b).orElse("");
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

    /** A uint8 tensor of the given shape holding a copy of {@code data} (0..255), on {@code device}. */
    public static Tensor pixels(byte[] data, Device device, long... shape) {
        Tensor cpu = Tensor.create(data, false, shape);
        return device.is_cpu() ? cpu : cpu.to(device, torch.ScalarType.Byte);
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
