namespace DenseFlow.Training;

/// <summary>Which weights of a run to use: the live (last optimised) ones, the weight average, or the average when there is one.</summary>
public enum RunWeights { Auto, Live, Averaged }
