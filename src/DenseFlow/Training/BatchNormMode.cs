namespace DenseFlow.Training;

/// <summary>How BatchNorm in the coupling networks normalises when several processes train together.</summary>
public enum BatchNormMode
{
    /// <summary>Over the global batch of all ranks, as one process would (the default).</summary>
    Sync,
    /// <summary>Over each rank's slice alone (no communication; results differ from one process).</summary>
    Local,
}
