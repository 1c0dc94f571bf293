namespace DenseFlow.Distributed;

/// <summary>The MPI set-up or a collective failed; the message names the library or the call.</summary>
public sealed class DistributedException : Exception
{
    public DistributedException(string message) : base(message) { }
}
