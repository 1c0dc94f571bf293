using System.IO.Compression;
using System.Text;
using DenseFlow.IO;

namespace DenseFlow.Tests.IO;

public sealed class NpzTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("npz-tests-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static NpyArray[] Samples() =>
    [
        new NpyArray(new[] { 1.5f, -2f, float.NaN, float.PositiveInfinity, 0f, 3.25f }, 2, 3),
        new NpyArray(new[] { Math.PI, -1e300 }, 2),
        new NpyArray(new[] { long.MinValue, 0L, long.MaxValue, 42L }, 2, 1, 2),
        new NpyArray(new[] { int.MinValue, 7, int.MaxValue }, 3),
        new NpyArray(new byte[] { 0, 1, 127, 128, 255, 9 }, 3, 2),
        new NpyArray(new[] { true, false, true }, 3),
        // 0-d arrays
        new NpyArray(new[] { 2.5f }),
        new NpyArray(new[] { 123456789012L }),
        new NpyArray(new[] { 0.125 }),
        new NpyArray(new[] { false }),
        // empty array
        new NpyArray(new float[0], 0, 4),
    ];

    public static TheoryData<int> SampleIndices() => new(Enumerable.Range(0, Samples().Length));

    [Theory]
    [MemberData(nameof(SampleIndices))]
    public void Npy_RoundTrip_PreservesDtypeShapeAndData(int index)
    {
        var array = Samples()[index];
        using var stream = new MemoryStream();
        Npy.Write(stream, array);
        Assert.Equal(0, (stream.Length - array.ElementCount * ItemSize(array.Dtype)) % 64); // aligned header
        stream.Position = 0;

        var back = Npy.Read(stream);
        AssertSame(array, back);
    }

    [Fact]
    public void Npz_RoundTrip_AllDtypes_StoredAndDeflated()
    {
        var arrays = Samples().Select((a, i) => KeyValuePair.Create($"a{i}.sub", a)).ToList();
        foreach (bool compress in new[] { false, true })
        {
            string path = Path.Combine(_dir, compress ? "c.npz" : "s.npz");
            Npz.Write(path, arrays, compress);

            var back = Npz.Read(path);
            Assert.Equal(arrays.Select(p => p.Key), back.Keys);
            foreach (var (key, array) in arrays) AssertSame(array, back[key]);

            using var zip = ZipFile.OpenRead(path);
            Assert.All(zip.Entries, e => Assert.EndsWith(".npy", e.FullName));
            Assert.All(zip.Entries, e => Assert.Equal(compress, e.CompressedLength < e.Length || e.Length == 0));
        }
    }

    [Fact]
    public void Npy_ReadsVersion2And3Headers()
    {
        foreach (byte major in new byte[] { 2, 3 })
        {
            string dict = "{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }";
            var bytes = new List<byte> { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', major, 0 };
            bytes.AddRange(BitConverter.GetBytes((uint)(dict.Length + 1)));
            bytes.AddRange(Encoding.ASCII.GetBytes(dict + "\n"));
            bytes.AddRange(BitConverter.GetBytes(5));
            bytes.AddRange(BitConverter.GetBytes(-6));

            var array = Npy.Read(new MemoryStream(bytes.ToArray()));
            Assert.Equal("int32", array.Dtype);
            Assert.Equal(new long[] { 2 }, array.Shape);
            Assert.Equal(new[] { 5, -6 }, array.As<int>());
        }
    }

    [Fact]
    public void Npy_AcceptsLittleEndianU1Descr()
    {
        var array = Npy.Read(new MemoryStream(NpyBytes("{'descr': '<u1', 'fortran_order': False, 'shape': (2,), }", [3, 250])));
        Assert.Equal(new byte[] { 3, 250 }, array.As<byte>());
    }

    [Fact]
    public void Npy_FortranOrder_IsRejectedWithClearMessage()
    {
        var e = Assert.Throws<InvalidDataException>(() => Npy.Read(
            new MemoryStream(NpyBytes("{'descr': '|u1', 'fortran_order': True, 'shape': (2, 1), }", [1, 2])), "f.npy"));
        Assert.StartsWith("f.npy", e.Message);
        Assert.Contains("Fortran", e.Message);
    }

    [Fact]
    public void Npz_UnsupportedDtype_NamesFileEntryAndExpected()
    {
        string path = Path.Combine(_dir, "weights.npz");
        using (var zip = ZipFile.Open(path, ZipArchiveMode.Create))
        using (var s = zip.CreateEntry("x.npy").Open())
            s.Write(NpyBytes("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", new byte[8]));

        var e = Assert.Throws<InvalidDataException>(() => Npz.Read(path));
        Assert.Contains($"{path}: entry 'x.npy' has unsupported dtype '<c8' (expected one of", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void Npz_TruncatedFile_ThrowsNamingFile()
    {
        string path = Path.Combine(_dir, "trunc.npz");
        Npz.Write(path, [KeyValuePair.Create("x", new NpyArray(new float[100], 100))]);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);

        var e = Assert.Throws<InvalidDataException>(() => Npz.Read(path));
        Assert.Contains("trunc.npz", e.Message);
    }

    [Fact]
    public void Npz_TruncatedEntry_ThrowsNamingFileAndEntry()
    {
        string path = Path.Combine(_dir, "short.npz");
        var full = new MemoryStream();
        Npy.Write(full, new NpyArray(new double[10], 10));
        using (var zip = ZipFile.Open(path, ZipArchiveMode.Create))
        using (var s = zip.CreateEntry("y.npy", CompressionLevel.NoCompression).Open())
            s.Write(full.ToArray().AsSpan(0, (int)full.Length - 8)); // one element missing

        var e = Assert.Throws<InvalidDataException>(() => Npz.Read(path));
        Assert.Contains("short.npz: entry 'y.npy'", e.Message);
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void WrongMagic_ThrowsNamingFile()
    {
        string npz = Path.Combine(_dir, "notzip.npz");
        File.WriteAllText(npz, "this is not a zip archive at all, just some text that is long enough");
        var e1 = Assert.Throws<InvalidDataException>(() => Npz.Read(npz));
        Assert.Contains("notzip.npz", e1.Message);

        string npy = Path.Combine(_dir, "bad.npy");
        File.WriteAllBytes(npy, Encoding.ASCII.GetBytes("PK\x03\x04 definitely not npy"));
        var e2 = Assert.Throws<InvalidDataException>(() => Npy.Read(npy));
        Assert.Contains("bad.npy", e2.Message);
        Assert.Contains("magic", e2.Message);
    }

    [Fact]
    public void MissingFile_ThrowsFileNotFoundNamingPath()
    {
        string path = Path.Combine(_dir, "nope.npz");
        var e = Assert.Throws<FileNotFoundException>(() => Npz.Read(path));
        Assert.Contains(path, e.Message);
        Assert.Throws<FileNotFoundException>(() => new NpzFile(path));
    }

    [Fact]
    public void Fixture_CaseNpz_HasImagesInByteRange()
    {
        var arrays = Npz.Read(Path.Combine(FixturePaths.OfficialSmall, "case.npz"));

        var x = arrays["x"];
        Assert.Equal("int64", x.Dtype);
        Assert.Equal(new long[] { 4, 3, 32, 32 }, x.Shape);
        Assert.All(x.As<long>(), v => Assert.InRange(v, 0, 255));

        var loglik = arrays["loglik"];
        Assert.Equal("float64", loglik.Dtype);
        Assert.Equal(new long[] { 4 }, loglik.Shape);
        Assert.All(loglik.ToDouble(), v => Assert.True(double.IsFinite(v)));
    }

    [Fact]
    public void Fixture_WeightsNpz_ReadsLazilyIncludingScalars()
    {
        using var file = new NpzFile(Path.Combine(FixturePaths.OfficialSmall, "weights.npz"));
        Assert.Equal(533, file.Keys.Count);

        int scalars = 0;
        foreach (var key in file.Keys)
        {
            var a = file.Get(key);
            Assert.Contains(a.Dtype, new[] { "float32", "int64" });
            if (a.Shape.Length == 0) { scalars++; Assert.Equal(1, a.ElementCount); }
        }
        Assert.True(scalars > 0, "expected some 0-d entries");
        Assert.Throws<KeyNotFoundException>(() => file.Get("no.such.key"));
    }

    [Fact]
    public void As_WrongType_Throws_And_Conversions_Work()
    {
        var a = new NpyArray(new byte[] { 1, 200 }, 2);
        Assert.Throws<InvalidOperationException>(() => a.As<float>());
        Assert.Equal(new[] { 1f, 200f }, a.ToFloat());
        Assert.Equal(new[] { 1d, 200d }, a.ToDouble());
        Assert.Equal(new[] { 1L, 200L }, a.ToInt64());
        Assert.Throws<ArgumentException>(() => new NpyArray(new float[3], 2, 2));
    }

    [Fact]
    public void NpzFile_GetHeader_ReadsShapeWithoutData()
    {
        string path = Path.Combine(_dir, "h.npz");
        Npz.Write(path, [KeyValuePair.Create("data", new NpyArray(new byte[24], 4, 6))], compress: true);
        using var file = Npz.Open(path);
        var header = file.GetHeader("data");
        Assert.Equal("uint8", header.Dtype);
        Assert.Equal(new long[] { 4, 6 }, header.Shape);
        Assert.Equal(24, header.ElementCount);
    }

    private static byte[] NpyBytes(string dict, byte[] data)
    {
        var header = dict.PadRight(64 - 10 - 1) + "\n";
        var bytes = new List<byte> { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0 };
        bytes.AddRange(BitConverter.GetBytes((ushort)header.Length));
        bytes.AddRange(Encoding.ASCII.GetBytes(header));
        bytes.AddRange(data);
        return bytes.ToArray();
    }

    private static int ItemSize(string dtype) => dtype switch
    {
        "float64" or "int64" => 8,
        "float32" or "int32" => 4,
        _ => 1,
    };

    private static void AssertSame(NpyArray expected, NpyArray actual)
    {
        Assert.Equal(expected.Dtype, actual.Dtype);
        Assert.Equal(expected.Shape, actual.Shape);
        Assert.Equal(expected.Data.GetType(), actual.Data.GetType());
        Assert.Equal(expected.Data.Cast<object>(), actual.Data.Cast<object>());
    }
}
