namespace DenseFlow.Data;

/// <summary>Shape of one 8-bit image stored channel-first (CHW).</summary>
public sealed record ImageShape(int Channels, int Height, int Width)
{
    /// <summary>Bytes per image: Channels × Height × Width.</summary>
    public int Size => Channels * Height * Width;

    public override string ToString() => $"{Channels}x{Height}x{Width}";
}
