namespace DenseFlow.Training;

public enum ScheduleKind
{
    /// <summary>The reference code: linear warm-up, then constant (its warm-up scheduler overwrites the decay every step).</summary>
    Official,
    /// <summary>The paper: linear warm-up, then exponential decay by γ per epoch.</summary>
    Paper,
}

/// <summary>Learning rate as a pure function of (step, epoch), so a resumed run needs no schedule state beyond them (SPEC §7).</summary>
public sealed record LearningRateSchedule(ScheduleKind Kind, double BaseLr, long WarmupSteps, double Gamma)
{
    public double At(long step, int epoch)
    {
        double warm = WarmupSteps <= 0 ? 1.0 : Math.Min(1.0, (step + 1) / (double)WarmupSteps);
        double decay = Kind == ScheduleKind.Paper ? Math.Pow(Gamma, epoch) : 1.0;
        return BaseLr * warm * decay;
    }
}
