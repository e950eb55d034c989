using System.Globalization;
using Alpine.Data;
using BenchmarkDotNet.Attributes;

namespace Alpine.Bench;

/// <summary>
/// Reading a native <c>interactions.csv</c> of 1M rows (the target: ≥ 1M rows/s). The baseline is the obvious
/// reader (<c>File.ReadLines</c> + <c>string.Split</c> + <c>int.Parse</c>), measured in the same run.
/// </summary>
[MemoryDiagnoser]
public class DataBenchmarks
{
    public const int Rows = 1_000_000;
    private string _dir = "";
    private string _path = "";

    [GlobalSetup]
    public void Setup()
    {
        _dir = Path.Combine(Path.GetTempPath(), "alpine-bench-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
        _path = Path.Combine(_dir, NativeFormat.InteractionsFile);
        // Paper-like ids and timestamps: 10k users, 3.2M items, 10-digit timestamps, ~30% clicks.
        var rng = new Random(1);
        var log = new InteractionLog(Rows);
        for (int i = 0; i < Rows; i++)
        {
            bool click = rng.NextDouble() < 0.3;
            log.Add(rng.Next(10_000), rng.Next(3_200_000), 1_500_000_000L + i * 7L, click,
                click && rng.NextDouble() < 0.1, click && rng.NextDouble() < 0.05, rng.NextDouble() < 0.8 ? SplitPart.Train : SplitPart.Test);
        }
        NativeFormat.WriteInteractions(_path, log);
    }

    [GlobalCleanup]
    public void Cleanup() => Directory.Delete(_dir, recursive: true);

    [Benchmark]
    public int ReadInteractions() => NativeFormat.ReadInteractions(_path).Count;

    [Benchmark(Baseline = true)]
    public int SplitAndParse()
    {
        var log = new InteractionLog();
        foreach (string line in File.ReadLines(_path).Skip(1))
        {
            string[] f = line.Split(',');
            bool click = f[3] == "1";
            log.Add(int.Parse(f[0], CultureInfo.InvariantCulture), int.Parse(f[1], CultureInfo.InvariantCulture),
                long.Parse(f[2], CultureInfo.InvariantCulture), click, f[4] == "1", f[5] == "1",
                f[6] == "test" ? SplitPart.Test : SplitPart.Train);
        }
        return log.Count;
    }
}
