using System.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace DenseFlow.Model;

/// <summary>
/// Our own weight format: a magic line, a format version, the configuration as JSON, the dtype, then TorchSharp's
/// state (every parameter and buffer, including ActNorm's `initialized`, so loading never re-initialises).
/// Written to a temporary file and renamed, so a crash never leaves half a file.
/// </summary>
public static class ModelFile
{
    static readonly byte[] Magic = Encoding.ASCII.GetBytes("DENSEFLOW-NET\n");
    public const int FormatVersion = 1;

    /// <summary>Writes atomically: a failed save leaves the previous file as it was.</summary>
    public static void Save(DenseFlowModel model, string path) => Save(model, path, null);

    /// <param name="wrap">lets tests inject a stream that fails mid-write</param>
    internal static void Save(DenseFlowModel model, string path, Func<Stream, Stream>? wrap) =>
        IO.AtomicFile.Write(path, stream => Write(model, wrap?.Invoke(stream) ?? stream));

    public static void Write(DenseFlowModel model, Stream stream)
    {
        using var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        writer.Write(Magic);
        writer.Write(FormatVersion);
        writer.Write(model.Config.ToJson());
        writer.Write((int)model.DType);
        model.save(writer);
    }

    /// <summary>Reads only the configuration stored in a model file.</summary>
    public static DenseFlowConfig ReadConfig(string path)
    {
        using var stream = OpenChecked(path);
        using var reader = new BinaryReader(stream, Encoding.UTF8);
        return ReadHeader(reader, path);
    }

    public static DenseFlowModel Load(string path, Device? device = null)
    {
        using var stream = OpenChecked(path);
        using var reader = new BinaryReader(stream, Encoding.UTF8);
        var config = ReadHeader(reader, path);
        var model = new DenseFlowModel(config);
        LoadState(model, reader, path);
        if (device is not null) model.to(device);
        return model;
    }

    /// <summary>Loads a model file's weights into an existing model of the same configuration.</summary>
    public static void LoadInto(DenseFlowModel model, string path)
    {
        using var stream = OpenChecked(path);
        using var reader = new BinaryReader(stream, Encoding.UTF8);
        var config = ReadHeader(reader, path);
        if (config.ToJson() != model.Config.ToJson())
            throw new ModelFileException($"{path}: holds a different configuration than the model it is loaded into");
        LoadState(model, reader, path);
    }

    static void LoadState(DenseFlowModel model, BinaryReader reader, string path)
    {
        ScalarType dtype;
        try { dtype = (ScalarType)reader.ReadInt32(); }
        catch (EndOfStreamException) { throw new ModelFileException($"{path}: truncated model file"); }
        if (dtype is not (ScalarType.Float32 or ScalarType.Float64 or ScalarType.Float16 or ScalarType.BFloat16))
            throw new ModelFileException($"{path}: unsupported weight dtype code {(int)dtype}");
        if (model.DType != dtype) model.to(dtype);
        try { model.load(reader, strict: true); }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or EndOfStreamException or IOException)
        {
            throw new ModelFileException($"{path}: weights do not fit the stored configuration or the file is truncated ({e.Message.Split('\n')[0]})");
        }
    }

    static FileStream OpenChecked(string path)
    {
        if (!File.Exists(path)) throw new ModelFileException($"{path}: model file not found");
        return File.OpenRead(path);
    }

    static DenseFlowConfig ReadHeader(BinaryReader reader, string path)
    {
        try
        {
            var magic = reader.ReadBytes(Magic.Length);
            if (!magic.SequenceEqual(Magic)) throw new ModelFileException($"{path}: not a DenseFlow.NET model file (bad magic)");
            int version = reader.ReadInt32();
            if (version != FormatVersion) throw new ModelFileException($"{path}: model format version {version}, this build reads version {FormatVersion}");
            return DenseFlowConfig.FromJson(reader.ReadString(), path);
        }
        catch (EndOfStreamException) { throw new ModelFileException($"{path}: truncated model file"); }
    }
}
