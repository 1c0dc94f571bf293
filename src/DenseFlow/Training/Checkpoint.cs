using System.Text;
using System.Text.Json;
using DenseFlow.IO;
using DenseFlow.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace DenseFlow.Training;

/// <summary>
/// A training checkpoint: magic, format version, state JSON, configuration JSON, model state, optimiser
/// state. Written atomically (<see cref="AtomicFile"/>), so the previous checkpoint survives a crash
/// or a full disk.
/// </summary>
public static class Checkpoint
{
    static readonly byte[] Magic = Encoding.ASCII.GetBytes("DENSEFLOW-CKPT\n");
    public const int FormatVersion = 1;
    public const string FileName = "checkpoint.bin";

    /// <param name="average">the weight average, stored with the optimiser state as "ema."-prefixed entries</param>
    public static void Save(string path, DenseFlowModel model, Adamax optimizer, TrainingState state, Func<Stream, Stream>? wrap = null, WeightAverage? average = null)
    {
        AtomicFile.Write(path, file =>
        {
            // `wrap` lets tests inject a stream that fails mid-write.
            var stream = wrap?.Invoke(file) ?? file;
            using var w = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
            w.Write(Magic);
            w.Write(FormatVersion);
            w.Write(JsonSerializer.Serialize(state, DenseFlowConfig.Json));
            w.Write(model.Config.ToJson());
            model.save(w);
            var entries = optimizer.State().Concat(average?.State() ?? []).ToList();
            w.Write(entries.Count);
            foreach (var (name, value) in entries) WriteTensor(w, name, value);
            w.Flush();
        });
    }

    public static DenseFlowConfig ReadConfig(string path)
    {
        using var r = Open(path, out _);
        return ReadConfigPart(r, path);
    }

    public static TrainingState ReadState(string path)
    {
        using var r = Open(path, out var state);
        return state;
    }

    /// <summary>
    /// Loads weights (and, when given, optimiser state and weight average) into a model built from the same
    /// configuration. <paramref name="averagedWeights"/> puts the stored weight average into the model's
    /// parameters instead of the live weights (when the checkpoint has one).
    /// </summary>
    public static TrainingState Load(string path, DenseFlowModel model, Adamax? optimizer, WeightAverage? average = null, bool averagedWeights = false)
    {
        using var r = Open(path, out var state);
        return LoadRest(r, state, path, model, optimizer, average, averagedWeights);
    }

    /// <summary>As <see cref="Load(string, DenseFlowModel, Adamax?, WeightAverage?, bool)"/>, from the bytes of a checkpoint file (one rank read it and broadcast it); <paramref name="path"/> names it in errors.</summary>
    public static TrainingState Load(byte[] data, string path, DenseFlowModel model, Adamax? optimizer, WeightAverage? average = null)
    {
        using var r = Open(new MemoryStream(data, writable: false), path, out var state);
        return LoadRest(r, state, path, model, optimizer, average, averagedWeights: false);
    }

    /// <summary>The training state stored in the bytes of a checkpoint file.</summary>
    public static TrainingState ReadState(byte[] data, string path)
    {
        using var r = Open(new MemoryStream(data, writable: false), path, out var state);
        return state;
    }

    /// <summary>The configuration stored in the bytes of a checkpoint file.</summary>
    public static DenseFlowConfig ReadConfig(byte[] data, string path)
    {
        using var r = Open(new MemoryStream(data, writable: false), path, out _);
        return ReadConfigPart(r, path);
    }

    static TrainingState LoadRest(BinaryReader r, TrainingState state, string path, DenseFlowModel model, Adamax? optimizer, WeightAverage? average, bool averagedWeights)
    {
        var config = ReadConfigPart(r, path);
        var mismatch = FirstMismatch(config, model);
        if (mismatch is not null) throw new TrainingException($"{path}: does not fit the configuration: {mismatch}");
        try
        {
            model.load(r, strict: true);
            int n = r.ReadInt32();
            var entries = new Dictionary<string, Tensor>();
            for (int i = 0; i < n; i++) { var (name, t) = ReadTensor(r); entries[name] = t; }
            optimizer?.Restore(state.OptimizerStep, entries);
            average?.Restore(entries);
            if (averagedWeights) WeightAverage.LoadInto(model, entries);
            foreach (var t in entries.Values) t.Dispose();
        }
        catch (Exception e) when (e is EndOfStreamException or IOException or ArgumentException or InvalidDataException or InvalidOperationException)
        {
            throw new TrainingException($"{path}: truncated or corrupt checkpoint ({e.Message.Split('\n')[0]})");
        }
        return state;
    }

    /// <summary>The first parameter whose name or shape differs between a stored configuration and a model, or null.</summary>
    static string? FirstMismatch(DenseFlowConfig stored, DenseFlowModel model)
    {
        // The same architecture fits by construction (the strict load still checks); only another one needs a probe model
        // built to name the first difference.
        if (stored.ToJson() == model.Config.ToJson()) return null;
        using var probe = new DenseFlowModel(stored);
        var ours = model.state_dict();
        var theirs = probe.state_dict();
        foreach (var (name, t) in theirs)
        {
            if (!ours.TryGetValue(name, out var o)) return $"parameter '{name}' does not exist in the model";
            if (!o.shape.SequenceEqual(t.shape)) return $"parameter '{name}' has shape [{string.Join(",", t.shape)}] in the checkpoint, [{string.Join(",", o.shape)}] in the model";
        }
        foreach (var name in ours.Keys) if (!theirs.ContainsKey(name)) return $"parameter '{name}' is missing from the checkpoint";
        return null;
    }

    static BinaryReader Open(string path, out TrainingState state)
    {
        if (!File.Exists(path)) throw new TrainingException($"{path}: checkpoint not found");
        return Open(File.OpenRead(path), path, out state);
    }

    static BinaryReader Open(Stream stream, string path, out TrainingState state)
    {
        var r = new BinaryReader(stream, Encoding.UTF8);
        try
        {
            if (!r.ReadBytes(Magic.Length).SequenceEqual(Magic)) throw new TrainingException($"{path}: not a DenseFlow.NET checkpoint (bad magic)");
            int version = r.ReadInt32();
            if (version != FormatVersion) throw new TrainingException($"{path}: checkpoint format version {version}, this build reads version {FormatVersion}");
            state = JsonSerializer.Deserialize<TrainingState>(r.ReadString(), DenseFlowConfig.Json)!;
            return r;
        }
        catch (Exception e) when (e is EndOfStreamException or JsonException)
        {
            r.Dispose();
            throw new TrainingException($"{path}: truncated or corrupt checkpoint header");
        }
        catch { r.Dispose(); throw; }
    }

    static DenseFlowConfig ReadConfigPart(BinaryReader r, string path)
    {
        try { return DenseFlowConfig.FromJson(r.ReadString(), path); }
        catch (EndOfStreamException) { throw new TrainingException($"{path}: truncated checkpoint"); }
    }

    static void WriteTensor(BinaryWriter w, string name, Tensor t)
    {
        using var cpu = t.detach().cpu().contiguous();
        w.Write(name);
        w.Write((int)cpu.dtype);
        w.Write((int)cpu.dim());
        foreach (var s in cpu.shape) w.Write(s);
        var bytes = cpu.bytes;
        w.Write(bytes.Length);
        w.Write(bytes);
    }

    static (string, Tensor) ReadTensor(BinaryReader r)
    {
        string name = r.ReadString();
        var dtype = (ScalarType)r.ReadInt32();
        int dims = r.ReadInt32();
        var shape = new long[dims];
        for (int i = 0; i < dims; i++) shape[i] = r.ReadInt64();
        int length = r.ReadInt32();
        var bytes = r.ReadBytes(length);
        if (bytes.Length != length) throw new EndOfStreamException();
        var t = empty(shape, dtype: dtype);
        t.bytes = bytes;
        return (name, t);
    }
}
