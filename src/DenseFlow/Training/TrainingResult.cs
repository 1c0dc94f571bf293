namespace DenseFlow.Training;

public sealed record TrainingResult(long Steps, int Epochs, double ElapsedSeconds, double? LastTestBpd, string StopReason);
