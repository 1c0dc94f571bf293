using System.Text.Json;
using DenseFlow.Data;
using DenseFlow.IO;

namespace DenseFlow.Detection;

/// <summary>
/// The training set's typical bits/dim (Nalisnick, Matthews, Teh, Lakshminarayanan 2019b, "Detecting
/// out-of-distribution inputs to deep generative models using typicality"): the per-image bpd of
/// <see cref="Images"/> training images, scored once with bound K and seed and cached in the run
/// directory as typical.json. Per image, |bpd − mean| is the typicality score; for a set of M images,
/// the set is atypical when |mean bpd − mean| exceeds ε, the (1 − α) quantile of the same distance
/// over bootstrap sets of M training images (see <see cref="Epsilon"/>).
/// </summary>
public sealed record TypicalBpd
{
    public const string FileName = "typical.json";

    public int K { get; init; }
    public long Seed { get; init; }
    public int Images { get; init; }
    /// <summary>The run's model file and its time stamp when this was computed; a retrained model makes the cache stale.</summary>
    public string ModelStamp { get; init; } = "";
    public double Mean { get; init; }
    public double StandardDeviation { get; init; }
    /// <summary>Mean PNG bits/dim of the same training images: a model that does not beat it has not learned more than PNG knows.</summary>
    public double PngBpd { get; init; }
    public double[] Bpd { get; init; } = [];

    public static TypicalBpd FromScores(double[] bpd, int k, long seed, string modelStamp, double pngBpd = 0)
    {
        if (bpd.Length < 2) throw new ArgumentException("the typical bpd needs at least two training images");
        double mean = bpd.Average();
        double sd = Math.Sqrt(bpd.Sum(b => (b - mean) * (b - mean)) / (bpd.Length - 1));
        return new TypicalBpd { K = k, Seed = seed, Images = bpd.Length, ModelStamp = modelStamp, Mean = mean, StandardDeviation = sd, PngBpd = pngBpd, Bpd = bpd };
    }

    /// <summary>Per-image typicality score |bpd − typical bpd| (higher = more anomalous).</summary>
    public double[] Score(IReadOnlyList<double> bpd) => bpd.Select(b => Math.Abs(b - Mean)).ToArray();

    /// <summary>
    /// ε for sets of <paramref name="setSize"/> images: the (1 − α) quantile, over <paramref name="bootstraps"/>
    /// draws from a seeded stream, of |mean of M training bpds − mean of a resample of all N| (both drawn
    /// with replacement). Nalisnick et al. compare with the fixed mean; resampling the reference as well
    /// adds the uncertainty of a typical bpd estimated from N images, without which a genuine test set of
    /// a size close to N is flagged too often.
    /// </summary>
    public double Epsilon(int setSize, double alpha = 0.01, int bootstraps = 1000, long seed = 0)
    {
        if (setSize < 1) throw new ArgumentOutOfRangeException(nameof(setSize));
        if (!(alpha > 0 && alpha < 1)) throw new ArgumentOutOfRangeException(nameof(alpha));
        var rng = SplitMix64.For(seed, setSize, 0x54595049); // "TYPI"
        var distances = new double[bootstraps];
        for (int b = 0; b < bootstraps; b++)
        {
            double set = 0, reference = 0;
            for (int i = 0; i < setSize; i++) set += Bpd[rng.NextInt(Bpd.Length)];
            for (int i = 0; i < Bpd.Length; i++) reference += Bpd[rng.NextInt(Bpd.Length)];
            distances[b] = Math.Abs(set / setSize - reference / Bpd.Length);
        }
        Array.Sort(distances);
        // The ceil((1 − α)·B)-th smallest distance.
        int index = Math.Clamp((int)Math.Ceiling((1 - alpha) * bootstraps) - 1, 0, bootstraps - 1);
        return distances[index];
    }

    /// <summary>The batch test on a set of images' bpd.</summary>
    public TypicalityTest Test(IReadOnlyList<double> bpd, double alpha = 0.01, int bootstraps = 1000, long seed = 0)
    {
        double mean = bpd.Average();
        double epsilon = Epsilon(bpd.Count, alpha, bootstraps, seed);
        double distance = Math.Abs(mean - Mean);
        return new TypicalityTest(bpd.Count, mean, distance, epsilon, alpha, distance > epsilon);
    }

    public void Save(string path) => AtomicFile.WriteAllBytes(path, JsonSerializer.SerializeToUtf8Bytes(this, new JsonSerializerOptions { WriteIndented = false }));

    /// <summary>The cached figures, or null when the file is missing, unreadable or was made with other settings.</summary>
    public static TypicalBpd? TryLoad(string path, int k, long seed, int images, string modelStamp)
    {
        if (!File.Exists(path)) return null;
        try
        {
            var t = JsonSerializer.Deserialize<TypicalBpd>(File.ReadAllText(path));
            return t is not null && t.K == k && t.Seed == seed && t.Images == images && t.ModelStamp == modelStamp && t.Bpd.Length == images ? t : null;
        }
        catch (JsonException) { return null; }
    }
}
