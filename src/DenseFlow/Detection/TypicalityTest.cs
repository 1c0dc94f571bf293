namespace DenseFlow.Detection;

/// <summary>Outcome of the batch typicality test for one set of images.</summary>
public sealed record TypicalityTest(int Images, double MeanBpd, double Distance, double Epsilon, double Alpha, bool Atypical);
