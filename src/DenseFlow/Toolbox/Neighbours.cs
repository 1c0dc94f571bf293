namespace DenseFlow.Toolbox;

/// <summary>The k nearest references of each query: indices into the reference set and Euclidean distances, nearest first.</summary>
public sealed record Neighbours(long[,] Indices, double[,] Distances)
{
    public int Queries => Indices.GetLength(0);
    public int K => Indices.GetLength(1);
}
