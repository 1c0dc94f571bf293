namespace DenseFlow.Detection;

/// <summary>One point of a ROC curve: the rates when every score ≥ the threshold is called anomalous.</summary>
public readonly record struct RocPoint(double Threshold, double FalsePositiveRate, double TruePositiveRate);
