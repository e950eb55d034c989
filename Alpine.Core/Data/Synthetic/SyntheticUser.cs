using static Alpine.Data.Synthetic.SyntheticParameters;

namespace Alpine.Data.Synthetic;

/// <summary>One interest topic of a user (SPEC D17).</summary>
/// <param name="Topic">The topic.</param>
/// <param name="Core">A lasting interest (alive over the whole timeline; likes and follows concentrate here).</param>
/// <param name="Strength">s, the long-run weight its drifting weight reverts to.</param>
/// <param name="Start">Alive from this fraction of the user's impressions…</param>
/// <param name="End">…up to (not including) this one.</param>
/// <param name="Taste">p_{u,c}, the user's unit taste direction inside the topic. // (k)</param>
public sealed record InterestTopic(int Topic, bool Core, double Strength, double Start, double End, float[] Taste)
{
    public bool AliveAt(double fraction) => Start <= fraction && fraction < End;
}

/// <summary>
/// A synthetic user (SPEC D17): a base click rate, several interest topics (diverse) whose weights
/// drift and whose focus switches from session to session (dynamic), transient interests that come
/// and go, core interests that come back after long gaps, and 1–2 disliked topics. Drawn from the
/// user's own stream, so users are independent of each other and of the profile.
/// </summary>
public sealed class SyntheticUser
{
    public int Id { get; }
    public int Impressions { get; }
    /// <summary>b_u, the logit of a click on an item outside the user's interests and dislikes.</summary>
    public double BaseLogit { get; }
    public IReadOnlyList<int> Disliked => _disliked;
    /// <summary>Core interests first, then the transient ones.</summary>
    public IReadOnlyList<InterestTopic> Interests => _interests;

    private readonly int[] _disliked;
    private readonly InterestTopic[] _interests;
    private readonly SyntheticRng _rng; // where the profile's draws ended: the impressions continue from here

    public SyntheticUser(SyntheticWorld world, int id)
    {
        Id = id;
        Impressions = world.ImpressionsOfUser[id];
        _rng = SyntheticRng.For(world.Seed, SyntheticStream.User, id);
        BaseLogit = BaseLogitMean + BaseLogitSd * _rng.Gaussian();

        int nDisliked = DislikedTopicsMin + _rng.NextInt(DislikedTopicsMax - DislikedTopicsMin + 1);
        int nCore = CoreTopicsMin + _rng.NextInt(CoreTopicsMax - CoreTopicsMin + 1);
        int nTransient = TransientTopicsMin + _rng.NextInt(TransientTopicsMax - TransientTopicsMin + 1);
        // Distinct topics by a partial Fisher–Yates shuffle: dislikes, then core, then transient.
        var topics = Enumerable.Range(0, Topics).ToArray();
        for (int i = 0; i < nDisliked + nCore + nTransient; i++)
        {
            int j = i + _rng.NextInt(Topics - i);
            (topics[i], topics[j]) = (topics[j], topics[i]);
        }
        _disliked = topics[..nDisliked];
        _interests = new InterestTopic[nCore + nTransient];
        for (int i = 0; i < _interests.Length; i++)
        {
            bool core = i < nCore;
            double strength, start = 0, end = double.PositiveInfinity;
            if (core) strength = _rng.Uniform(CoreStrengthMin, CoreStrengthMax);
            else
            {
                strength = _rng.Uniform(TransientStrengthMin, TransientStrengthMax);
                double span = _rng.Uniform(TransientSpanMin, TransientSpanMax);
                start = _rng.Uniform(0, 1 - span);
                end = start + span;
            }
            _interests[i] = new InterestTopic(topics[nDisliked + i], core, strength, start, end, UnitVector(ref _rng));
        }
    }

    /// <summary>
    /// Appends the user's impressions in time order (SPEC D17): sessions of pages that share a
    /// timestamp; each session has a focus topic (kept with probability FocusStay, else redrawn by
    /// weight); each impression's item comes from the focus, an old interest, a disliked topic or
    /// anywhere; click ~ Bernoulli(σ(affinity)).
    /// </summary>
    public void Simulate(SyntheticWorld world, InteractionLog log, bool likesAndFollows)
    {
        var rng = _rng; // a copy: simulating again gives the same impressions
        int m = _interests.Length, k = LatentDim;
        var logStrength = new double[m];
        for (int j = 0; j < m; j++) logStrength[j] = Math.Log(_interests[j].Strength);
        var logWeight = (double[])logStrength.Clone();
        var relative = new double[m]; // w̄: an alive interest's weight over the largest alive one, 0 when not alive
        var alive = new bool[m];
        long t = Epoch + (long)rng.Uniform(0, EpochJitter);
        int focus = -1;
        double gapToNextSession = 0;

        for (int pos = 0; pos < Impressions;)
        {
            double fraction = (double)pos / Impressions;
            if (focus >= 0)
                for (int j = 0; j < m; j++)
                    logWeight[j] += DriftPull * (logStrength[j] - logWeight[j]) + DriftSd * rng.Gaussian();
            double maxLog = double.NegativeInfinity;
            for (int j = 0; j < m; j++)
            {
                alive[j] = _interests[j].AliveAt(fraction);
                if (alive[j]) maxLog = Math.Max(maxLog, logWeight[j]);
            }
            for (int j = 0; j < m; j++) relative[j] = alive[j] ? Math.Exp(logWeight[j] - maxLog) : 0;
            // Draw the focus once per session (uniform u is drawn either way, so streams stay aligned).
            bool stay = rng.NextDouble() < FocusStay;
            if (focus < 0 || !alive[focus] || !stay) focus = DrawByWeight(ref rng, relative);

            int sessionEnd = (int)Math.Min(Impressions, pos + 1 + Geometric(ref rng, SessionMeanExtra));
            t += (long)gapToNextSession;
            while (pos < sessionEnd)
            {
                int page = Math.Min(1 + rng.NextInt(PageMax), sessionEnd - pos);
                for (int p = 0; p < page; p++, pos++)
                {
                    int item = DrawItem(ref rng, world, focus, fraction);
                    int c = world.TopicOfItem[item];
                    int j = InterestIndex(c);
                    double a = BaseLogit;
                    if (j >= 0)
                    {
                        a += InterestBoost * relative[j];
                        if (j == focus) a += FocusBoost;
                        a += TasteWeight * TasteOf(world, _interests[j].Taste, item, c, k);
                    }
                    if (Array.IndexOf(_disliked, c) >= 0) a -= DislikeMalus;
                    bool click = rng.NextDouble() < 1 / (1 + Math.Exp(-a));
                    // Like and follow uniforms are drawn for every impression and profile, so that
                    // both profiles of one seed share the same clicks.
                    double uLike = rng.NextDouble(), uFollow = rng.NextDouble();
                    bool core = j >= 0 && _interests[j].Core;
                    bool like = likesAndFollows && click && uLike < (core ? LikeCore : LikeOther);
                    bool follow = likesAndFollows && click && uFollow < (core ? FollowCore : FollowOther);
                    log.Add(Id, item, t, click, like, follow);
                }
                t += (long)(PageGapMin + rng.Exponential(PageGapMean));
            }
            gapToNextSession = SessionGapMin + rng.Exponential(rng.NextDouble() < LongGapProb ? LongGapMean : ShortGapMean);
        }
    }

    /// <summary>Index of topic c among the interests, or −1.</summary>
    private int InterestIndex(int c)
    {
        for (int j = 0; j < _interests.Length; j++) if (_interests[j].Topic == c) return j;
        return -1;
    }

    private int DrawItem(ref SyntheticRng rng, SyntheticWorld world, int focus, double fraction)
    {
        double r = rng.NextDouble();
        if (r < FromFocus) return world.ItemOfTopic(ref rng, _interests[focus].Topic);
        if (r < FromFocus + FromOldInterest)
        {
            // An interest that has been alive at some point so far (current or retired), other than the focus.
            int candidates = 0;
            for (int j = 0; j < _interests.Length; j++) if (j != focus && _interests[j].Start <= fraction) candidates++;
            if (candidates > 0)
            {
                int pick = rng.NextInt(candidates);
                for (int j = 0; j < _interests.Length; j++)
                    if (j != focus && _interests[j].Start <= fraction && pick-- == 0) return world.ItemOfTopic(ref rng, _interests[j].Topic);
            }
            return rng.NextInt(world.Size.Items);
        }
        if (r < FromFocus + FromOldInterest + FromDisliked) return world.ItemOfTopic(ref rng, _disliked[rng.NextInt(_disliked.Length)]);
        return rng.NextInt(world.Size.Items);
    }

    /// <summary>⟨p, δ_i⟩ with δ_i = (z_i − μ_c) / ItemSpread: ~N(0, 1) for a unit p.</summary>
    private static double TasteOf(SyntheticWorld world, float[] taste, int item, int c, int k)
    {
        var z = world.Latents.AsSpan(item * k, k);
        var mu = world.TopicCentres.AsSpan(c * k, k);
        double s = 0;
        for (int d = 0; d < k; d++) s += taste[d] * (z[d] - mu[d]);
        return s / ItemSpread;
    }

    /// <summary>An index drawn with probability ∝ weight (only alive interests have weight; a core one always does).</summary>
    private static int DrawByWeight(ref SyntheticRng rng, double[] weight)
    {
        double total = 0;
        foreach (double w in weight) total += w; // in order, never vectorised: the draw must not depend on the CPU
        double u = rng.NextDouble() * total;
        int last = -1;
        for (int j = 0; j < weight.Length; j++)
        {
            if (weight[j] == 0) continue;
            last = j;
            u -= weight[j];
            if (u < 0) return j;
        }
        System.Diagnostics.Debug.Assert(last >= 0, "core interests are always alive");
        return last;
    }

    /// <summary>Failures before the first success, with the given mean.</summary>
    private static long Geometric(ref SyntheticRng rng, double mean) =>
        (long)Math.Floor(Math.Log(1.0 - rng.NextDouble()) / Math.Log(mean / (1 + mean)));

    private static float[] UnitVector(ref SyntheticRng rng)
    {
        var v = new float[LatentDim];
        double norm = 0;
        for (int d = 0; d < v.Length; d++) { v[d] = (float)rng.Gaussian(); norm += v[d] * (double)v[d]; }
        float inv = (float)(1 / Math.Sqrt(norm));
        for (int d = 0; d < v.Length; d++) v[d] *= inv;
        return v;
    }
}
