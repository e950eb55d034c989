using Alpine.Cpu;
using Alpine.Data;
using Alpine.Model;
using Alpine.Prep;
using Alpine.Train;
using BenchmarkDotNet.Attributes;

namespace Alpine.Bench;

/// <summary>
/// Training throughput, SharedPrefix vs Window (SPEC D12), and Window in the paper's layout (each target a copy of
/// its window; the same values): one train step (forward, backward, Adam) on the first batch of the default epoch-0
/// plan of a prepared data folder — by default the demo's <c>small</c> set (run <c>alpine demo</c>
/// first, or point <c>ALPINE_BENCH_DATA</c> at a prepared folder). targets/s = the batch's targets (≈ 2,000) / the time per step.
/// <see cref="BuildBatch"/> times building that batch. The setup also prints each mode's LSTM cell-steps for a whole epoch, counted without running it.
/// Run: <c>ALPINE_BENCH_DATA=alpine-demo/data dotnet run -c Release --project Alpine.Bench -- --filter '*TrainBenchmarks*' --inprocess</c>
/// </summary>
public class TrainBenchmarks
{
    private PreparedData _data = null!;
    private CpuBackend _backend = null!;
    private Batch _batch = null!;
    private Batcher _batcher = null!;
    private int[] _targets = [];
    private float[] _logits = [];
    private int _step;

    /// <summary>How the step's LSTM work is laid out: the two modes, and Window as the paper lays it out (a copy of each target's window).</summary>
    public enum StepLayout { SharedPrefix, Window, WindowCopies }

    [Params(StepLayout.SharedPrefix, StepLayout.Window, StepLayout.WindowCopies)]
    public StepLayout Layout { get; set; }

    private BatchMode Mode => Layout == StepLayout.SharedPrefix ? BatchMode.SharedPrefix : BatchMode.Window;

    public const int BatchSize = 2048;

    [GlobalSetup]
    public void Setup()
    {
        string dir = Environment.GetEnvironmentVariable("ALPINE_BENCH_DATA") ?? Path.Combine("alpine-demo", "data");
        _data = PreparedData.Load(dir);
        var config = new ModelConfig { Profile = _data.Profile, VisualDim = _data.Items.VisualDim, TopL = _data.TopL };
        var layout = ModelLayout.Create(config, _data.UserCount, _data.CategoryCount);
        _backend = new CpuBackend(config, _data.Items, _data.UserCount, ParameterInit.Create(config, layout, _data.Items, _data.LikesFollows, 1));
        var batcher = _batcher = new Batcher(_data, config, Mode) { SharePrefixes = Layout != StepLayout.WindowCopies };
        var options = new TrainOptions { BatchSize = BatchSize };
        int[] train = batcher.PositionsOf(SplitPart.Train);
        var plan = BatchPlan.ForEpoch(train, batcher.UserOf, options.BatchSize, options.PieceSize, options.Seed, epoch: 0, options.PieceOrder);
        _targets = plan[0];
        _batch = batcher.Build(_targets);
        _logits = new float[_batch.TargetCount];
        long epochSteps = plan.Sum(b => batcher.CountCellSteps(b));
        Console.WriteLine($"// {Layout}: {train.Length} train targets, {plan.Length} batches, {epochSteps:N0} cell-steps per epoch (counted); " +
            $"this batch: {_batch.TargetCount} targets, {Batcher.CellSteps(_batch):N0} cell-steps");
    }

    [GlobalCleanup]
    public void Cleanup() => _backend.Dispose();

    [Benchmark]
    public float TrainStep()
    {
        _backend.ZeroGradients();
        float loss = _backend.ForwardBackward(_batch, _logits);
        _backend.Step(new AdamSettings(LearningRate: 1e-3f), ++_step);
        return loss;
    }

    /// <summary>Building the batch (copying prefixes, or windows with their window-local edges): work the step does not include.</summary>
    [Benchmark]
    public Batch BuildBatch() => _batcher.Build(_targets);
}
