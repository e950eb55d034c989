namespace Alpine.Train;

/// <summary>
/// How a validation round counts (SPEC "Model selection"), for the ALPINE trainer and the baselines' alike: a round
/// is the new best when its AUC_user beats the best so far at all, and progress for the patience count only when it
/// beats it by more than the minimum gain. NaN (no validation user with both classes) never compares, so such a
/// round counts as both.
/// </summary>
public static class ValidationRound
{
    public static (bool Better, bool Progressed) Judge(double aucUser, double bestAucUser, float minDelta) =>
        (!(aucUser <= bestAucUser), !(aucUser <= bestAucUser + minDelta));
}
