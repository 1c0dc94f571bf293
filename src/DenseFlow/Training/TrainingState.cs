namespace DenseFlow.Training;

/// <summary>Where a run stands: enough, with the weights and optimiser state, to continue bit for bit.</summary>
public sealed record TrainingState
{
    public int Epoch { get; init; }
    /// <summary>Next batch to run within <see cref="Epoch"/>.</summary>
    public int BatchInEpoch { get; init; }
    public long Step { get; init; }
    public long OptimizerStep { get; init; }
    /// <summary>Training images seen (0 in checkpoints written before it was recorded).</summary>
    public long ImagesSeen { get; init; }
    public string NoiseState { get; init; } = "";
    public double ElapsedSeconds { get; init; }
    public long BadStepsTotal { get; init; }
    public bool Finished { get; init; }
}
