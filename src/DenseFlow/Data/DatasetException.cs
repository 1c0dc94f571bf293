namespace DenseFlow.Data;

/// <summary>
/// A dataset could not be opened or read. The message is one line naming the file (or directory)
/// and what was expected, so it can be shown to a user as is.
/// </summary>
public sealed class DatasetException : Exception
{
    public DatasetException(string message) : base(message)
    {
    }

    public DatasetException(string message, Exception innerException) : base(message, innerException)
    {
    }
}
