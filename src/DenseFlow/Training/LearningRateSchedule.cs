namespace DenseFlow.Training;

public enum ScheduleKind
{
    /// <summary>The reference code: linear warm-up, then constant (its warm-up scheduler overwrites the decay every step).</summary>
    Official,
    /// <summary>The paper: linear warm-up, then exponential decay by γ per epoch.</summary>
    Paper,
    /// <summary>Linear warm-up, then a half cosine from the base rate to zero at the end of the run's budget (steps, epochs or minutes).</summary>
    Cosine,
}

/// <summary>
/// Learning rate as a pure function of (step, epoch, share of the budget done), so a resumed run needs no schedule
/// state beyond them (SPEC §7).
/// </summary>
public sealed record LearningRateSchedule(ScheduleKind Kind, double BaseLr, long WarmupSteps, double Gamma)
{
    /// <param name="progress">share of the run's budget done, in [0, 1] (read by the cosine schedule only)</param>
    public double At(long step, int epoch, double progress = 0)
    {
        double warm = WarmupSteps <= 0 ? 1.0 : Math.Min(1.0, (step + 1) / (double)WarmupSteps);
        double decay = Kind switch
        {
            ScheduleKind.Paper => Math.Pow(Gamma, epoch),
            ScheduleKind.Cosine => 0.5 * (1 + Math.Cos(Math.PI * Math.Clamp(progress, 0, 1))),
            _ => 1.0,
        };
        return BaseLr * warm * decay;
    }
}
