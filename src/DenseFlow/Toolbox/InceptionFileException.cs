namespace DenseFlow.Toolbox;

/// <summary>The Inception weights file is missing, not TorchScript, or not shaped like clean-fid's network.</summary>
public sealed class InceptionFileException : Exception
{
    public InceptionFileException(string message) : base(message) { }
}
