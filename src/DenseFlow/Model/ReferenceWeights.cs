using System.Collections;
using DenseFlow.IO;
using TorchSharp;
using static TorchSharp.torch;

namespace DenseFlow.Model;

/// <summary>A reference weight file that cannot be used: the message names the file and what was expected.</summary>
public sealed class WeightImportException : Exception
{
    public WeightImportException(string message) : base(message) { }
}

/// <summary>
/// Imports the authors' PyTorch weights (SPEC §10): `checkpoint.pt` (dict with `model`, keys possibly
/// prefixed `module.`), a plain `state_dict.pt`, or `weights.npz` — all through <see cref="OfficialNames"/>.
/// </summary>
public static class ReferenceWeights
{
    /// <summary>Reads a reference state dict into name → CPU tensor (caller disposes).</summary>
    public static Dictionary<string, Tensor> Read(string path)
    {
        if (!File.Exists(path)) throw new WeightImportException($"{path}: weight file not found");
        var entries = path.EndsWith(".npz", StringComparison.OrdinalIgnoreCase) ? ReadNpz(path) : ReadPyTorch(path);
        // DataParallel checkpoints prefix every key with `module.`.
        if (entries.Count > 0 && entries.Keys.All(k => k.StartsWith("module.", StringComparison.Ordinal)))
            entries = entries.ToDictionary(kv => kv.Key["module.".Length..], kv => kv.Value);
        return entries;
    }

    static Dictionary<string, Tensor> ReadNpz(string path)
    {
        try
        {
            using var npz = Npz.Open(path);
            var result = new Dictionary<string, Tensor>();
            foreach (var key in npz.Keys)
            {
                result[key] = npz.Get(key).ToTensor($"{path}: entry '{key}'");
            }
            return result;
        }
        catch (InvalidDataException e) { throw new WeightImportException(e.Message); }
    }

    static Dictionary<string, Tensor> ReadPyTorch(string path)
    {
        Hashtable table;
        try
        {
            using var stream = File.OpenRead(path);
            table = TorchSharp.PyBridge.PyTorchUnpickler.UnpickleStateDict(stream);
        }
        catch (Exception e) when (e is not WeightImportException)
        {
            throw new WeightImportException($"{path}: not a readable PyTorch file ({e.GetType().Name}: {e.Message.Split('\n')[0]})");
        }
        // checkpoint.pt: {'current_epoch': …, 'model': state_dict}; state_dict.pt: the dict itself.
        IDictionary dict = table;
        if (table["model"] is IDictionary model) dict = model;
        var result = new Dictionary<string, Tensor>();
        foreach (DictionaryEntry e in dict)
        {
            if (e.Value is Tensor t) result[(string)e.Key] = t;
        }
        if (result.Count == 0) throw new WeightImportException($"{path}: no tensors found (expected a state_dict, or a dict with key 'model')");
        return result;
    }

    /// <summary>Copies every parameter and buffer from a reference state dict into the model; strict both ways.</summary>
    public static void LoadInto(DenseFlowModel model, IReadOnlyDictionary<string, Tensor> official, string source)
    {
        var config = model.Config;
        if (!OfficialNames.IsOfficialArchitecture(config))
            throw new WeightImportException($"{source}: the configuration is not the official architecture (coupling dense, augmentation preconditioned, variational dequantization, learned prior), so reference weights cannot be imported");
        var used = new HashSet<string>();
        using (no_grad())
        {
            foreach (var (name, target) in model.state_dict())
            {
                string key = OfficialNames.ToOfficial(name, config);
                if (!official.TryGetValue(key, out var value))
                    throw new WeightImportException($"{source}: missing entry '{key}' (for our '{name}', shape [{string.Join(",", target.shape)}])");
                if (!value.shape.SequenceEqual(target.shape))
                    throw new WeightImportException($"{source}: entry '{key}' has shape [{string.Join(",", value.shape)}], the configuration expects [{string.Join(",", target.shape)}]");
                target.copy_(value.to(target.dtype, target.device));
                used.Add(key);
            }
        }
        foreach (var (key, expected) in OfficialNames.Constants(config))
        {
            if (!official.TryGetValue(key, out var value)) continue;
            double actual = value.to(ScalarType.Float64).item<double>();
            if (Math.Abs(actual - expected) > 1e-5)
                throw new WeightImportException($"{source}: constant '{key}' is {actual}, expected {expected}");
            used.Add(key);
        }
        var unexpected = official.Keys.Where(k => !used.Contains(k)).OrderBy(k => k).ToList();
        if (unexpected.Count > 0)
            throw new WeightImportException($"{source}: {unexpected.Count} entries do not fit the configuration, first '{unexpected[0]}'");
    }

    /// <summary>Reads a reference weight file and loads it into the model.</summary>
    public static void Load(DenseFlowModel model, string path)
    {
        var entries = Read(path);
        try { LoadInto(model, entries, path); }
        finally { foreach (var t in entries.Values) t.Dispose(); }
    }
}
