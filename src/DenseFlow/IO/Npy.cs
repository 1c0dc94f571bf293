using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;

namespace DenseFlow.IO;

/// <summary>
/// Reads and writes single arrays in the NumPy .npy format (versions 1.0, 2.0 and 3.0),
/// little-endian, C order only. See numpy/lib/format.py for the specification.
/// </summary>
public static partial class Npy
{
    private static readonly byte[] Magic = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    // Header sizes above this are certainly corrupt; numpy itself refuses headers over 10 kB by default.
    private const int MaxHeaderLength = 1 << 20;

    // Elements are moved in chunks so no byte span ever exceeds int.MaxValue.
    private const int ChunkBytes = 1 << 20;

    /// <summary>descr strings accepted on read, mapped to dtype names.</summary>
    private static readonly Dictionary<string, string> DescrToDtype = new()
    {
        ["<f4"] = "float32",
        ["<f8"] = "float64",
        ["<i8"] = "int64",
        ["<i4"] = "int32",
        ["|u1"] = "uint8",
        ["<u1"] = "uint8",
        ["|b1"] = "bool",
    };

    private static readonly Dictionary<string, string> DtypeToDescr = new()
    {
        ["float32"] = "<f4",
        ["float64"] = "<f8",
        ["int64"] = "<i8",
        ["int32"] = "<i4",
        ["uint8"] = "|u1",
        ["bool"] = "|b1",
    };

    private const string ExpectedDescrs = "'<f4', '<f8', '<i8', '<i4', '|u1', '|b1'";

    /// <summary>Reads a .npy file; a missing file gives <see cref="FileNotFoundException"/>.</summary>
    public static NpyArray Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"File not found: {path}", path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        return Read(stream, path);
    }

    /// <summary>Reads one array from the current position of <paramref name="stream"/> (need not be seekable).</summary>
    public static NpyArray Read(Stream stream) => Read(stream, "npy stream");

    /// <summary>
    /// Reads one array; <paramref name="source"/> describes the stream (e.g. "weights.npz: entry 'x.npy'")
    /// and starts every error message.
    /// </summary>
    public static NpyArray Read(Stream stream, string source)
    {
        var header = ReadHeader(stream, source);
        if (header.ElementCount > Array.MaxLength)
            throw new InvalidDataException($"{source}: array of {header.ElementCount} elements is too large to load.");
        long count = header.ElementCount;

        Array data = header.Dtype switch
        {
            "float32" => ReadElements(stream, new float[count], source),
            "float64" => ReadElements(stream, new double[count], source),
            "int64" => ReadElements(stream, new long[count], source),
            "int32" => ReadElements(stream, new int[count], source),
            "uint8" => ReadElements(stream, new byte[count], source),
            "bool" => ReadBools(stream, count, source),
            _ => throw new InvalidOperationException($"Unhandled dtype {header.Dtype}."),
        };
        return new NpyArray(header.Dtype, header.Shape, data);
    }

    /// <summary>
    /// Reads only the header (magic, version, dtype, shape), leaving the stream at the first data byte.
    /// Lets callers learn an array's size without loading it.
    /// </summary>
    public static NpyHeader ReadHeader(Stream stream, string source)
    {
        ArgumentNullException.ThrowIfNull(stream);
        EnsureLittleEndianHost();

        Span<byte> prefix = stackalloc byte[8];
        int got = ReadFully(stream, prefix);
        if (got < Magic.Length || !prefix[..Magic.Length].SequenceEqual(Magic))
            throw new InvalidDataException($"{source}: not a .npy file (expected magic \\x93NUMPY at the start).");
        if (got < prefix.Length)
            throw new InvalidDataException($"{source}: truncated .npy header (expected the 2-byte version after the magic).");

        byte major = prefix[6], minor = prefix[7];
        if (major is < 1 or > 3 || minor != 0)
            throw new InvalidDataException(
                $"{source}: unsupported .npy format version {major}.{minor} (expected 1.0, 2.0 or 3.0).");

        int lengthSize = major == 1 ? 2 : 4;
        Span<byte> lengthBytes = stackalloc byte[4];
        RequireFully(stream, lengthBytes[..lengthSize], source, "header length");
        long headerLength = major == 1
            ? BinaryPrimitives.ReadUInt16LittleEndian(lengthBytes)
            : BinaryPrimitives.ReadUInt32LittleEndian(lengthBytes);
        if (headerLength > MaxHeaderLength)
            throw new InvalidDataException(
                $"{source}: .npy header length {headerLength} is implausible (expected at most {MaxHeaderLength} bytes).");

        var headerBytes = new byte[headerLength];
        RequireFully(stream, headerBytes, source, "header");
        // Versions 1 and 2 use latin-1 headers, version 3 UTF-8; the fields we read are ASCII either way.
        string header = (major == 3 ? Encoding.UTF8 : Encoding.Latin1).GetString(headerBytes);

        var (dtype, fortranOrder, shape) = ParseHeader(header, source);
        if (fortranOrder)
            throw new InvalidDataException(
                $"{source}: arrays in Fortran order are not supported (expected fortran_order False; save with np.ascontiguousarray).");

        long elementCount = 1;
        foreach (var d in shape)
        {
            elementCount *= d;
            if (elementCount > long.MaxValue / 16 || elementCount < 0)
                throw new InvalidDataException($"{source}: .npy shape ({string.Join(", ", shape)}) is implausibly large.");
        }
        return new NpyHeader(dtype, shape, elementCount);
    }

    /// <summary>Writes a .npy file (replacing any existing file, atomically: see <see cref="AtomicFile"/>).</summary>
    public static void Write(string path, NpyArray array) => AtomicFile.Write(path, stream => Write(stream, array));

    /// <summary>Writes one array in .npy format (version 1.0, or 2.0 if the header needs it).</summary>
    public static void Write(Stream stream, NpyArray array)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(array);
        EnsureLittleEndianHost();

        string shape = array.Shape.Length switch
        {
            0 => "()",
            1 => $"({array.Shape[0]},)",
            _ => "(" + string.Join(", ", array.Shape.Select(d => d.ToString(CultureInfo.InvariantCulture))) + ")",
        };
        string dict = $"{{'descr': '{DtypeToDescr[array.Dtype]}', 'fortran_order': False, 'shape': {shape}, }}";

        // The header (magic + version + length + dict + padding + '\n') is padded with spaces to a
        // multiple of 64 bytes so the data is aligned, exactly as numpy does.
        int major = 1;
        int preamble = Magic.Length + 2 + 2;
        int total = Align64(preamble + dict.Length + 1);
        if (total - preamble > ushort.MaxValue)
        {
            major = 2;
            preamble = Magic.Length + 2 + 4;
            total = Align64(preamble + dict.Length + 1);
        }
        int headerLength = total - preamble;
        string header = dict.PadRight(headerLength - 1) + "\n";

        var prefix = new byte[preamble];
        Magic.CopyTo(prefix, 0);
        prefix[6] = (byte)major;
        prefix[7] = 0;
        if (major == 1) BinaryPrimitives.WriteUInt16LittleEndian(prefix.AsSpan(8), (ushort)headerLength);
        else BinaryPrimitives.WriteUInt32LittleEndian(prefix.AsSpan(8), (uint)headerLength);
        stream.Write(prefix);
        stream.Write(Encoding.Latin1.GetBytes(header));

        switch (array.Data)
        {
            case float[] f: WriteElements(stream, f); break;
            case double[] d: WriteElements(stream, d); break;
            case long[] l: WriteElements(stream, l); break;
            case int[] i: WriteElements(stream, i); break;
            case byte[] b: WriteElements(stream, b); break;
            case bool[] z: WriteElements(stream, Array.ConvertAll(z, v => v ? (byte)1 : (byte)0)); break;
            default: throw new InvalidOperationException($"Unhandled data type {array.Data.GetType().Name}.");
        }
    }

    private static (string Dtype, bool FortranOrder, long[] Shape) ParseHeader(string header, string source)
    {
        // The header is a Python dict literal, e.g. {'descr': '<f4', 'fortran_order': False, 'shape': (4, 3), }.
        // Only the three standard keys with simple values occur, so targeted patterns suffice.
        var descrMatch = DescrPattern().Match(header);
        if (!descrMatch.Success)
            throw new InvalidDataException(
                $"{source}: .npy header has no simple 'descr' field (expected one of {ExpectedDescrs}; structured dtypes are not supported).");
        string descr = descrMatch.Groups[1].Value;
        if (!DescrToDtype.TryGetValue(descr, out var dtype))
            throw new InvalidDataException($"{source} has unsupported dtype '{descr}' (expected one of {ExpectedDescrs}).");

        var fortranMatch = FortranPattern().Match(header);
        if (!fortranMatch.Success)
            throw new InvalidDataException($"{source}: .npy header has no 'fortran_order' field (expected True or False).");

        var shapeMatch = ShapePattern().Match(header);
        if (!shapeMatch.Success)
            throw new InvalidDataException($"{source}: .npy header has no 'shape' field (expected a tuple of integers).");
        var shape = new List<long>();
        foreach (var part in shapeMatch.Groups[1].Value.Split(','))
        {
            var text = part.Trim().TrimEnd('L'); // Python 2 wrote long integers as "4L".
            if (text.Length == 0) continue;
            if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long dim))
                throw new InvalidDataException(
                    $"{source}: .npy header has invalid shape '({shapeMatch.Groups[1].Value})' (expected non-negative integers).");
            shape.Add(dim);
        }

        return (dtype, fortranMatch.Groups[1].Value == "True", shape.ToArray());
    }

    [GeneratedRegex(@"['""]descr['""]\s*:\s*['""]([^'""]*)['""]")]
    private static partial Regex DescrPattern();

    [GeneratedRegex(@"['""]fortran_order['""]\s*:\s*(True|False)")]
    private static partial Regex FortranPattern();

    [GeneratedRegex(@"['""]shape['""]\s*:\s*\(([^)]*)\)")]
    private static partial Regex ShapePattern();

    private static T[] ReadElements<T>(Stream stream, T[] array, string source) where T : unmanaged
    {
        int size = Unsafe.SizeOf<T>();
        int chunk = Math.Max(1, ChunkBytes / size);
        for (long start = 0; start < array.LongLength; start += chunk)
        {
            int n = (int)Math.Min(chunk, array.LongLength - start);
            var bytes = MemoryMarshal.AsBytes(array.AsSpan((int)start, n));
            int got = ReadFully(stream, bytes);
            if (got < bytes.Length)
                throw new InvalidDataException(
                    $"{source}: truncated .npy data (expected {array.LongLength * size} bytes, got {start * size + got}).");
        }
        return array;
    }

    private static bool[] ReadBools(Stream stream, long count, string source)
    {
        var bytes = ReadElements(stream, new byte[count], source);
        return Array.ConvertAll(bytes, b => b != 0);
    }

    private static void WriteElements<T>(Stream stream, T[] array) where T : unmanaged
    {
        int chunk = Math.Max(1, ChunkBytes / Unsafe.SizeOf<T>());
        for (long start = 0; start < array.LongLength; start += chunk)
        {
            int n = (int)Math.Min(chunk, array.LongLength - start);
            stream.Write(MemoryMarshal.AsBytes(array.AsSpan((int)start, n)));
        }
    }

    /// <summary>Reads until <paramref name="buffer"/> is full or the stream ends; returns the bytes read.</summary>
    private static int ReadFully(Stream stream, Span<byte> buffer) =>
        stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);

    private static void RequireFully(Stream stream, Span<byte> buffer, string source, string what)
    {
        int got = ReadFully(stream, buffer);
        if (got < buffer.Length)
            throw new InvalidDataException(
                $"{source}: truncated .npy {what} (expected {buffer.Length} bytes, got {got}).");
    }

    private static int Align64(int n) => (n + 63) / 64 * 64;

    private static void EnsureLittleEndianHost()
    {
        // Data is copied as raw memory; '<' dtypes only match the host layout on little-endian machines.
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("Npy requires a little-endian host.");
    }
}
