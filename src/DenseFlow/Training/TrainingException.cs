namespace DenseFlow.Training;

/// <summary>A training run that cannot go on; the message names the file, option or step.</summary>
public sealed class TrainingException : Exception
{
    public TrainingException(string message) : base(message) { }
}
