using System.Diagnostics;
using System.Globalization;
using Alpine.Baselines;
using Alpine.Data;
using Alpine.Prep;
using Alpine.Train;

namespace Alpine.Bench;

/// <summary>
/// A hand-timed projection of each baseline's epoch on a prepared data set: its first-batch loss at initialisation
/// (≈ ln 2 for pointwise nets, docs/BASELINES.md "Feature scale"), the wall and process-CPU time of a few train
/// batches of the epoch-1 plan scaled to the epoch's batches, and one validation round. CPU seconds say what the
/// work costs where other processes share the cores; wall seconds on an idle machine are about CPU / cores.
/// Run: <c>dotnet run -c Release --project Alpine.Bench -- baseline-epoch-report --data DIR [--models a,b] [--batches 2]</c>
/// </summary>
public static class BaselineEpochReport
{
    public static int Run(string[] args)
    {
        string dir = HandTimed.Option(args, "--data") ?? Path.Combine("alpine-demo", "data");
        string[] models = HandTimed.Option(args, "--models")?.Split(',') ?? [.. BaselineRegistry.Names];
        int batches = int.Parse(HandTimed.Option(args, "--batches") ?? "2", CultureInfo.InvariantCulture);
        var data = PreparedData.Load(dir);
        var targets = new ImpressionTargets(data);
        int[] train = targets.Positions(SplitPart.Train), validation = targets.Positions(SplitPart.Validation);
        Console.WriteLine($"{dir}: {data.UserCount} users, {train.Length} train and {validation.Length} validation targets; " +
            $"{Environment.ProcessorCount} cores, load {File.ReadAllText("/proc/loadavg").Split(' ')[0]}");
        Console.WriteLine("| model | first-batch loss | train epoch, wall s | train epoch, CPU s | validation round, wall s |");
        Console.WriteLine("|---|---:|---:|---:|---:|");
        foreach (string name in models)
        {
            var model = (BaselineModel)BaselineRegistry.Create(name);
            var net = model.CreateNet(data);
            float[] p = net.Initialise(1), g = new float[p.Length];
            var gradient = new BatchGradient(net, targets, threads: 0);
            // Every baseline is timed on the pointwise batches (BPR trains on about a third as many pairs).
            var plan = BatchPlan.ForEpoch(train, targets.UserOf, 2048, BaselineTrainer.PieceSize, seed: 1, epoch: 1, PieceOrder.Scattered);
            double first = gradient.Compute(p, g, plan[0]);
            var self = Process.GetCurrentProcess();
            TimeSpan cpu0 = self.TotalProcessorTime;
            var sw = Stopwatch.StartNew();
            for (int b = 1; b <= batches; b++) gradient.Compute(p, g, plan[b]);
            double wall = sw.Elapsed.TotalSeconds / batches * plan.Length;
            self.Refresh();
            double cpu = (self.TotalProcessorTime - cpu0).TotalSeconds / batches * plan.Length;
            sw.Restart();
            BatchGradient.Score(net, targets, p, validation, new float[validation.Length], threads: 0);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {name} | {first:F3} | {wall:F0} | {cpu:F0} | {sw.Elapsed.TotalSeconds:F1} |"));
        }
        return 0;
    }
}
