namespace DenseFlow.IO;

/// <summary>
/// An n-dimensional array as stored in a NumPy .npy file: a dtype name, a shape and the
/// elements as a flat C-ordered (row-major) .NET array.
/// </summary>
public sealed class NpyArray
{
    /// <summary>The dtype names this library reads and writes, with their .NET element types.</summary>
    public static IReadOnlyList<string> SupportedDtypes { get; } =
        ["float32", "float64", "int64", "int32", "uint8", "bool"];

    /// <summary>One of <see cref="SupportedDtypes"/>.</summary>
    public string Dtype { get; }

    /// <summary>Dimensions; empty for a 0-d (scalar) array.</summary>
    public long[] Shape { get; }

    /// <summary>float[], double[], long[], int[], byte[] or bool[] matching <see cref="Dtype"/>, C order.</summary>
    public Array Data { get; }

    /// <summary>Product of <see cref="Shape"/> (1 for a 0-d array).</summary>
    public long ElementCount => Data.LongLength;

    /// <summary>Creates an array, inferring the dtype from the element type of <paramref name="data"/>.</summary>
    public NpyArray(Array data, params long[] shape)
        : this(DtypeOf(data), shape, data)
    {
    }

    public NpyArray(string dtype, long[] shape, Array data)
    {
        ArgumentNullException.ThrowIfNull(dtype);
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentNullException.ThrowIfNull(data);

        var expectedType = ElementTypeOf(dtype)
            ?? throw new ArgumentException(
                $"Unsupported dtype '{dtype}' (expected one of {string.Join(", ", SupportedDtypes)}).", nameof(dtype));
        if (data.GetType() != expectedType.MakeArrayType())
            throw new ArgumentException(
                $"Data is {data.GetType().Name} but dtype '{dtype}' needs {expectedType.Name}[].", nameof(data));
        if (data.Rank != 1)
            throw new ArgumentException("Data must be a flat (one-dimensional) array.", nameof(data));

        long count = 1;
        foreach (var d in shape)
        {
            if (d < 0) throw new ArgumentException($"Negative dimension {d} in shape.", nameof(shape));
            count *= d;
        }
        if (count != data.LongLength)
            throw new ArgumentException(
                $"Shape ({string.Join(", ", shape)}) has {count} elements but data has {data.LongLength}.", nameof(data));

        Dtype = dtype;
        Shape = (long[])shape.Clone();
        Data = data;
    }

    /// <summary>The data as <typeparamref name="T"/>[] without copying; T must match the dtype exactly.</summary>
    public T[] As<T>()
    {
        if (Data is T[] typed) return typed;
        throw new InvalidOperationException(
            $"Array has dtype '{Dtype}' ({Data.GetType().Name}), not {typeof(T).Name}[].");
    }

    /// <summary>The elements converted to float (a copy unless the dtype is already float32).</summary>
    public float[] ToFloat() => Data switch
    {
        float[] f => f,
        double[] d => Array.ConvertAll(d, v => (float)v),
        long[] l => Array.ConvertAll(l, v => (float)v),
        int[] i => Array.ConvertAll(i, v => (float)v),
        byte[] b => Array.ConvertAll(b, v => (float)v),
        bool[] z => Array.ConvertAll(z, v => v ? 1f : 0f),
        _ => throw new InvalidOperationException($"Unexpected data type {Data.GetType().Name}."),
    };

    /// <summary>The elements converted to double (a copy unless the dtype is already float64).</summary>
    public double[] ToDouble() => Data switch
    {
        double[] d => d,
        float[] f => Array.ConvertAll(f, v => (double)v),
        long[] l => Array.ConvertAll(l, v => (double)v),
        int[] i => Array.ConvertAll(i, v => (double)v),
        byte[] b => Array.ConvertAll(b, v => (double)v),
        bool[] z => Array.ConvertAll(z, v => v ? 1d : 0d),
        _ => throw new InvalidOperationException($"Unexpected data type {Data.GetType().Name}."),
    };

    /// <summary>The elements converted to long (a copy unless the dtype is already int64); only for integer/bool dtypes.</summary>
    public long[] ToInt64() => Data switch
    {
        long[] l => l,
        int[] i => Array.ConvertAll(i, v => (long)v),
        byte[] b => Array.ConvertAll(b, v => (long)v),
        bool[] z => Array.ConvertAll(z, v => v ? 1L : 0L),
        _ => throw new InvalidOperationException($"Array has dtype '{Dtype}', which is not an integer type."),
    };

    public override string ToString() => $"{Dtype}[{string.Join(", ", Shape)}]";

    /// <summary>.NET element type for a dtype name, or null when unsupported.</summary>
    internal static Type? ElementTypeOf(string dtype) => dtype switch
    {
        "float32" => typeof(float),
        "float64" => typeof(double),
        "int64" => typeof(long),
        "int32" => typeof(int),
        "uint8" => typeof(byte),
        "bool" => typeof(bool),
        _ => null,
    };

    private static string DtypeOf(Array data) => data switch
    {
        null => throw new ArgumentNullException(nameof(data)),
        float[] => "float32",
        double[] => "float64",
        long[] => "int64",
        int[] => "int32",
        byte[] => "uint8",
        bool[] => "bool",
        _ => throw new ArgumentException(
            $"Unsupported element type {data.GetType().Name} (expected float[], double[], long[], int[], byte[] or bool[]).",
            nameof(data)),
    };
}
