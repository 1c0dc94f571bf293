namespace DenseFlow.Model;

/// <summary>A model file that cannot be read: names the file and what was expected.</summary>
public sealed class ModelFileException : Exception
{
    public ModelFileException(string message) : base(message) { }
}
