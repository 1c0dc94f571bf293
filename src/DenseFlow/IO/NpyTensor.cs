using static TorchSharp.torch;

namespace DenseFlow.IO;

public static class NpyTensor
{
    /// <summary>A CPU tensor with the array's dtype and shape.</summary>
    public static Tensor ToTensor(this NpyArray a, string source) => (a.Data switch
    {
        float[] f => tensor(f, dtype: ScalarType.Float32),
        double[] d => tensor(d, dtype: ScalarType.Float64),
        long[] l => tensor(l, dtype: ScalarType.Int64),
        int[] i => tensor(i, dtype: ScalarType.Int32),
        byte[] b => tensor(b, dtype: ScalarType.Byte),
        bool[] b => tensor(b, dtype: ScalarType.Bool),
        _ => throw new InvalidDataException($"{source}: unsupported array dtype {a.Dtype}"),
    }).reshape(a.Shape);
}
