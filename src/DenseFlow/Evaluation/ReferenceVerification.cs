using System.Text.Json;
using DenseFlow.IO;
using DenseFlow.Model;
using DenseFlow.Noise;
using TorchSharp;
using static TorchSharp.torch;

namespace DenseFlow.Evaluation;

/// <summary>
/// Replays a reference fixture (e.g. shared/fixtures/official-small): builds the equivalent model, loads
/// the reference weights, replays every recorded draw and compares log-likelihoods, latents and samples.
/// </summary>
public static class ReferenceVerification
{
    /// <summary>The DenseFlow configuration equivalent to the fixture's `constructor_args`.</summary>
    public static DenseFlowConfig ReadConfig(string fixtureDir)
    {
        string path = Path.Combine(fixtureDir, "config.json");
        if (!File.Exists(path)) throw new FixtureException($"{path}: missing (expected the fixture's config.json)");
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(path));
            var args = doc.RootElement.GetProperty("constructor_args");
            int[] Ints(string name) => args.GetProperty(name).EnumerateArray().Select(e => e.GetInt32()).ToArray();
            var units = Ints("block_config");
            return new DenseFlowConfig
            {
                InputShape = Ints("data_shape"),
                UnitsPerBlock = units,
                ModulesPerUnit = Ints("layers_config"),
                CouplingWidth = Ints("layer_mid_chnls"),
                GrowthRate = args.GetProperty("growth_rate").GetInt32(),
                NumBits = args.TryGetProperty("num_bits", out var nb) ? nb.GetInt32() : 8,
                Landmarks = units.Select(_ => 4).ToArray(),
            };
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new FixtureException($"{path}: malformed (expected constructor_args with data_shape, block_config, layers_config, layer_mid_chnls, growth_rate): {e.Message.Split('\n')[0]}");
        }
    }

    /// <summary>The weight file a fixture provides: weights.npz, checkpoint.pt or state_dict.pt, in that order.</summary>
    public static string FindWeights(string fixtureDir)
    {
        foreach (var name in new[] { "weights.npz", "checkpoint.pt", "state_dict.pt" })
        {
            string p = Path.Combine(fixtureDir, name);
            if (File.Exists(p)) return p;
        }
        throw new FixtureException($"{fixtureDir}: no weight file (expected weights.npz, checkpoint.pt or state_dict.pt)");
    }

    public static VerificationReport Run(string fixtureDir, string? weightFile = null, ScalarType dtype = ScalarType.Float32, Nets.ActivationLayout layout = Nets.ActivationLayout.Auto)
    {
        if (!Directory.Exists(fixtureDir)) throw new FixtureException($"{fixtureDir}: fixture directory not found");
        var config = ReadConfig(fixtureDir);
        weightFile ??= FindWeights(fixtureDir);
        string casePath = Path.Combine(fixtureDir, "case.npz");
        if (!File.Exists(casePath)) throw new FixtureException($"{casePath}: missing (expected the fixture's case.npz)");

        Dictionary<string, NpyArray> arrays;
        try { using var npz = Npz.Open(casePath); arrays = npz.ReadAll(); }
        catch (InvalidDataException e) { throw new FixtureException(e.Message); }
        NpyArray Need(string key) => arrays.TryGetValue(key, out var a) ? a : throw new FixtureException($"{casePath}: entry '{key}' missing");

        using var scope = NewDisposeScope();
        using var model = new DenseFlowModel(config);
        try { ReferenceWeights.Load(model, weightFile); }
        catch (WeightImportException e) { throw new FixtureException(e.Message); }
        model.to(dtype);
        model.ActivationLayout = layout;
        model.eval();

        var x = ToTensor(Need("x"));
        var officialLogLik = Need("loglik").ToDouble();
        var officialZ = ToTensor(Need("z")).to(ScalarType.Float64);
        var logProbDraws = arrays.Keys.Where(k => k.StartsWith("noise_")).OrderBy(k => k).Select(k => ToTensor(arrays[k])).ToList();
        var sampleDraws = arrays.Keys.Where(k => k.StartsWith("sample_noise_")).OrderBy(k => k).Select(k => ToTensor(arrays[k])).ToList();
        var sampleX = ToTensor(Need("sample_x"));

        var outputs = new List<(string, double)>();
        model.Noise = new ReplayNoise(logProbDraws);
        BoundTerms terms;
        using (no_grad())
        {
            terms = model.Bound(x, observe: (index, output, _) =>
            {
                string key = $"transform_out_{index:D2}";
                if (arrays.TryGetValue(key, out var expected) && expected.Shape.SequenceEqual(output.shape))
                {
                    using var e = ToTensor(expected).to(ScalarType.Float64);
                    outputs.Add((key, (output.to(ScalarType.Float64) - e).abs().max().item<double>()));
                }
            });
        }
        var ours = terms.LogLikelihood.to(ScalarType.Float64).data<double>().ToArray();
        double zDiff = (terms.Latent.to(ScalarType.Float64) - officialZ).abs().max().item<double>();
        var images = Enumerable.Range(0, ours.Length).Select(i => new ImageComparison(i, officialLogLik[i], ours[i])).ToList();

        model.Noise = new ReplayNoise(sampleDraws);
        var sampled = model.Sample(sampleX.shape[0]);
        var pixelDiff = (sampled - sampleX).abs();
        long differing = pixelDiff.gt(0).sum().item<long>();
        long maxDiff = pixelDiff.max().item<long>();

        return new VerificationReport(weightFile, config.Dimensions, images, zDiff, sampleX.numel(), differing, maxDiff, outputs);
    }

    static Tensor ToTensor(NpyArray a) => a.ToTensor("case.npz");
}
