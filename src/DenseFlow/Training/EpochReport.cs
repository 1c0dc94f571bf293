namespace DenseFlow.Training;

/// <summary>What the trainer reports after every epoch.</summary>
public sealed record EpochReport(int Epoch, long Step, double TestBpd, double InverseError, double TrainBpd, string? SampleGrid);
