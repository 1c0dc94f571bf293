namespace DenseFlow.Training;

/// <summary>What the trainer reports after every step.</summary>
public sealed record TrainingProgress(long Step, int Epoch, int BatchInEpoch, int BatchesPerEpoch, double Bpd, double LearningRate,
    double ImagesPerSecond, double ElapsedSeconds, double? BudgetSeconds, long? TotalSteps, long BadSteps, long ImagesSeen = 0);
