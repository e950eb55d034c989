using Alpine.Data;
using Alpine.Eval;
using Alpine.Model;
using Alpine.Train;

namespace Alpine.Baselines;

/// <summary>How a baseline's loss pairs its training examples.</summary>
public enum BaselineLoss
{
    /// <summary>BCE of every train impression against its click, as ALPINE (SPEC "Loss").</summary>
    Pointwise,
    /// <summary>BPR (Rendle et al. Eq. 4): each clicked train impression against a not-clicked one of the same user.</summary>
    Pairwise,
}

/// <summary>
/// Trains a <see cref="BaselineNet"/> as ALPINE is trained (SPEC D11, "Loss"): Adam with global-norm clipping,
/// L2 on weight matrices, batches drawn from (seed, epoch) (pointwise: as ALPINE's, <see cref="PieceSize"/>), a validation round per epoch on AUC_user, early
/// stopping on patience and min-delta as <see cref="Train.Trainer"/>, and the best round's parameters kept.
/// It reads the Train and Validation parts only (SPEC D1).
/// </summary>
public static class BaselineTrainer
{
    /// <summary>L2 on weight matrices (SPEC "Loss").</summary>
    public const float L2 = 5e-5f;
    /// <summary>
    /// Pointwise batches (SPEC "Batch composition", <see cref="BatchPlan"/>): scattered pieces of at most 128 targets
    /// of one user, so a user's targets in a batch share that user's work.
    /// </summary>
    public const int PieceSize = 128;

    /// <summary>Returns the best round's parameters and the fit's curve.</summary>
    public static (float[] Parameters, RankingFit Fit) Fit(string name, BaselineNet net, BaselineLoss loss, ImpressionTargets targets,
        RankingTrainOptions o, IProgress<RankingProgress>? progress = null, CancellationToken ct = default)
    {
        Validate(o);
        int[] train = targets.Positions(SplitPart.Train), validation = targets.Positions(SplitPart.Validation);
        if (train.Length == 0) throw new UsageException($"{name}: the data has no train impressions to fit on");
        var users = validation.Select(p => targets.UserOf[p]).ToArray();
        var clicks = validation.Select(targets.Clicked).ToArray();

        float[] p = net.Initialise((ulong)o.Seed), best = (float[])p.Clone();
        float[] g = new float[p.Length], m = new float[p.Length], v = new float[p.Length];
        var grads = new BatchGradient(net, targets, o.Threads);
        var adam = new AdamSettings(LearningRate: o.LearningRate);
        var curve = new List<RankingProgress>();
        var valLogits = new float[validation.Length];
        double bestAuc = double.NaN;
        MetricReport? bestReport = null;
        int bestEpoch = 0, sinceBest = 0, step = 0, epoch = 0;
        while (epoch < o.Epochs && sinceBest < o.Patience)
        {
            epoch++;
            double lossSum = 0;
            int batches = 0;
            void Step(double batchLoss)
            {
                lossSum += batchLoss + Loss.L2Forward<float>(net.Layout, p, L2);
                Loss.L2Backward<float>(g, net.Layout, p, L2);
                Adam.Step(p, g, m, v, adam, ++step);
                batches++;
            }
            if (loss == BaselineLoss.Pointwise)
                foreach (int[] batch in BatchPlan.ForEpoch(train, targets.UserOf, o.BatchSize, PieceSize, o.Seed, epoch, PieceOrder.Scattered))
                {
                    ct.ThrowIfCancellationRequested();
                    Step(grads.Compute(p, g, batch));
                }
            else
            {
                var rng = new Random((int)new SplitMix64(((ulong)(uint)o.Seed << 32) | (uint)epoch).Next());
                (int[] first, int[] negatives) = Pairs(name, targets, train, rng);
                for (int at = 0; at < first.Length; at += o.BatchSize)
                {
                    ct.ThrowIfCancellationRequested();
                    Step(grads.ComputePairs(p, g, first, negatives, at, Math.Min(o.BatchSize, first.Length - at)));
                }
            }

            BatchGradient.Score(net, targets, p, validation, valLogits, o.Threads);
            MetricReport report = Metrics.Compute(users, valLogits, clicks);
            var (better, progressed) = ValidationRound.Judge(report.AucUser, bestAuc, o.MinDelta);
            if (better) { bestAuc = report.AucUser; bestEpoch = epoch; bestReport = report; p.CopyTo(best, 0); }
            sinceBest = progressed ? 0 : sinceBest + 1;
            var round = new RankingProgress(epoch, o.Epochs, lossSum / Math.Max(1, batches), report.AucUser);
            curve.Add(round);
            progress?.Report(round);
        }
        return (best, new RankingFit(bestEpoch, epoch, bestAuc, curve, bestReport));
    }

    /// <summary>Throws <see cref="UsageException"/> naming the option when a value cannot work.</summary>
    public static void Validate(RankingTrainOptions o)
    {
        if (o.Epochs < 1) throw new UsageException($"epochs must be at least 1, got {o.Epochs}");
        if (o.Patience < 1) throw new UsageException($"patience must be at least 1, got {o.Patience}");
        if (o.BatchSize < 1) throw new UsageException($"batch size must be at least 1, got {o.BatchSize}");
        if (!(o.LearningRate > 0) || !float.IsFinite(o.LearningRate)) throw new UsageException($"learning rate must be a positive number, got {o.LearningRate}");
        if (!(o.MinDelta >= 0)) throw new UsageException($"min-delta must be zero or positive, got {o.MinDelta}");
        if (o.Threads < 0) throw new UsageException($"threads must be 0 (every core) or positive, got {o.Threads}");
    }

    /// <summary>
    /// BPR's sampling (Rendle et al. Sec. 4.1, bootstrap from D_S): for each clicked train impression, a
    /// not-clicked train impression of the same user drawn uniformly, then all pairs shuffled.
    /// </summary>
    private static (int[], int[]) Pairs(string name, ImpressionTargets targets, int[] train, Random rng)
    {
        var byUser = train.GroupBy(q => targets.UserOf[q]);
        var pos = new List<int>();
        var neg = new List<int>();
        foreach (var user in byUser)
        {
            int[] notClicked = user.Where(q => !targets.Clicked(q)).ToArray();
            if (notClicked.Length == 0) continue;
            foreach (int q in user.Where(targets.Clicked)) { pos.Add(q); neg.Add(notClicked[rng.Next(notClicked.Length)]); }
        }
        if (pos.Count == 0) throw new UsageException($"{name}: no user has both a clicked and a not-clicked train impression to pair");
        int[] order = Enumerable.Range(0, pos.Count).ToArray();
        rng.Shuffle(order);
        return (order.Select(i => pos[i]).ToArray(), order.Select(i => neg[i]).ToArray());
    }
}
