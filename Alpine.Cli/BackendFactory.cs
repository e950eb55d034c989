using System.CommandLine;
using Alpine.Cpu;
using Alpine.Data;
using Alpine.Kernels.Backend;
using Alpine.Model;
using Alpine.Prep;
using Alpine.Train;

namespace Alpine.Cli;

/// <summary>Where the model runs (`--device`).</summary>
internal enum Device { Auto, Cpu, Gpu }

/// <summary>`--device cpu|gpu|auto` and `--threads N`, shared by train, evaluate, rank and demo.</summary>
internal readonly record struct Compute(Device Device, int Threads);

/// <summary>The two options of <see cref="Compute"/>, declared once per command that has them.</summary>
internal sealed class ComputeOptions
{
    public readonly Choice<Device> Device = Opt.Choice("device", "where the model runs: a CUDA GPU if found (auto), the CPU, or the GPU only",
        Cli.Device.Auto, ("auto", Cli.Device.Auto), ("cpu", Cli.Device.Cpu), ("gpu", Cli.Device.Gpu));
    public readonly Option<int> Threads = Opt.Int("threads", "CPU threads, 0 = all cores", 0, min: 0);

    public IEnumerable<Option> All => [Device, Threads];
    public Compute Parse(ParseResult p) => new(Device.Get(p), p.GetValue(Threads));
}

/// <summary>The one place the CLI picks a backend; the trainer and evaluator see only <see cref="IAlpineBackend"/>.</summary>
internal static class BackendFactory
{
    /// <summary>
    /// `auto` takes a CUDA GPU when ILGPU finds one, else the CPU backend; never ILGPU's CPU accelerator,
    /// which is ~100× slower than the SIMD CPU backend and only for testing kernels.
    /// </summary>
    public static IAlpineBackend Create(ModelConfig config, PreparedData data, float[] parameters, Compute compute)
    {
        if (compute.Device != Device.Cpu)
        {
            var gpu = GpuBackend.TryCreate(config, data.Items, data.UserCount, parameters);
            if (gpu is not null)
            {
                Console.Error.WriteLine($"device: {gpu.Accelerator.Name}");
                return gpu;
            }
            if (compute.Device == Device.Gpu)
                throw new UsageException("--device gpu: no CUDA device was found (use --device cpu or auto)");
        }
        return new CpuBackend(config, data.Items, data.UserCount, parameters, compute.Threads);
    }

    /// <summary>The device word a checkpoint records (<see cref="TrainingProgress.Device"/>), as <c>--device</c> spells it.</summary>
    public static string DeviceOf(IAlpineBackend backend) => backend is GpuBackend ? "gpu" : "cpu";

    /// <summary>Fresh parameters from the seed (SPEC D11), with the user matrix from likes and follows (SPEC D9).</summary>
    public static float[] InitialParameters(ModelConfig config, PreparedData data, int seed) =>
        ParameterInit.Create(config, ModelLayout.Create(config, data.UserCount, data.CategoryCount), data.Items, data.LikesFollows, (ulong)seed);
}
