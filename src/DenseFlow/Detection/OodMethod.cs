namespace DenseFlow.Detection;

/// <summary>The per-image out-of-distribution scores; for every one, higher = more anomalous.</summary>
public enum OodMethod
{
    /// <summary>bits/dim of the model, −log₂ p(x)/D (single-sample or IWBO bound).</summary>
    Bpd,
    /// <summary>bpd − L(x)/D with L(x) the PNG length in bits (Serrà et al. 2020, "Input complexity and out-of-distribution detection with likelihood-based generative models", ICLR).</summary>
    Complexity,
    /// <summary>As <see cref="Complexity"/>, L(x) from lossless WebP.</summary>
    ComplexityWebp,
    /// <summary>bpd of the model − bpd of the background model (Ren et al. 2019, NeurIPS; Schirrmeister et al. 2020, NeurIPS).</summary>
    Ratio,
    /// <summary>|bpd − the training set's mean bpd| (Nalisnick et al. 2019b).</summary>
    Typicality,
    /// <summary>Mean pixel-space distance to the k nearest training images (the k-NN score of Sun et al. 2022, ICML, on pixels); see <see cref="NeighbourReference"/>.</summary>
    Neighbours,
    /// <summary>z(complexity) + z(knn), each standardised by its mean and spread over training images: the likelihood's low-level view plus the neighbours' view of content.</summary>
    ComplexityNeighbours,
}

/// <summary>Names, descriptions and the default choice of the OOD scores.</summary>
public static class OodMethods
{
    public static IReadOnlyDictionary<string, OodMethod> Names { get; } = new Dictionary<string, OodMethod>
    {
        ["bpd"] = OodMethod.Bpd, ["complexity"] = OodMethod.Complexity, ["complexity-webp"] = OodMethod.ComplexityWebp,
        ["ratio"] = OodMethod.Ratio, ["typicality"] = OodMethod.Typicality,
        ["knn"] = OodMethod.Neighbours, ["complexity-knn"] = OodMethod.ComplexityNeighbours,
    };

    public static IReadOnlyList<OodMethod> All { get; } = Names.Values.ToArray();

    public static string NameOf(OodMethod m) => Names.First(p => p.Value == m).Key;

    /// <summary>
    /// The default score, chosen in docs/OOD.md by the rule stated there (the best worst-case AUROC over
    /// the five synthetic transforms and the held-out class), from the in-distribution data and those sets
    /// only. It needs no background model but the run's training images (the neighbour reference and
    /// the scale); <see cref="Choose"/> falls back to <see cref="DefaultWithoutTrainingData"/> without them.
    /// </summary>
    public const OodMethod Default = OodMethod.ComplexityNeighbours;

    /// <summary>The best method that needs no background model, used when the default needs one and the run has none.</summary>
    public const OodMethod DefaultWithoutBackground = OodMethod.ComplexityNeighbours;

    /// <summary>The best method that needs neither a background model nor the training images (e.g. an imported run that names no dataset).</summary>
    public const OodMethod DefaultWithoutTrainingData = OodMethod.Complexity;

    public static bool NeedsBackground(OodMethod m) => m == OodMethod.Ratio;
    /// <summary>The typical bpd's training images: typicality's mean, and complexity-knn's spread of the complexity score.</summary>
    public static bool NeedsTypical(OodMethod m) => m is OodMethod.Typicality or OodMethod.ComplexityNeighbours;
    /// <summary>The training images as a nearest-neighbour reference.</summary>
    public static bool NeedsNeighbours(OodMethod m) => m is OodMethod.Neighbours or OodMethod.ComplexityNeighbours;
    public static bool NeedsPng(OodMethod m) => m is OodMethod.Complexity or OodMethod.ComplexityNeighbours;

    /// <summary>The default method for a run with or without a background model and training data it names.</summary>
    public static OodMethod DefaultFor(bool hasBackground, bool hasTrainingData = true)
    {
        var m = NeedsBackground(Default) && !hasBackground ? DefaultWithoutBackground : Default;
        return !hasTrainingData && (NeedsTypical(m) || NeedsNeighbours(m)) ? DefaultWithoutTrainingData : m;
    }

    /// <summary>Used instead of a complexity default when the model does not compress its own training images better than PNG.</summary>
    public const OodMethod WeakModelFallback = OodMethod.Bpd;

    /// <summary>
    /// The default for this run, and why when it is not <see cref="Default"/>. <paramref name="typical"/> is null
    /// when the run names no training data (then neither the scale nor the neighbours exist). The complexity score
    /// assumes the model codes its own data better than the generic codec (Serrà et al. 2020); an
    /// undertrained model whose mean training bpd is above the mean PNG bits/dim of the same images
    /// makes bpd − L(x)/D track −L(x), which ranks uniform noise (the least compressible image) as the
    /// most normal, so such a run falls back to plain bpd. Decided from training images only.
    /// </summary>
    public static (OodMethod Method, string? Reason) Choose(bool hasBackground, TypicalBpd? typical)
    {
        var m = DefaultFor(hasBackground, hasTrainingData: typical is not null);
        string? reason = m == Default ? null
            : typical is null ? $"the run names no training data (its options file is missing), so {NameOf(m)} replaces {NameOf(Default)}"
            : $"no background model, so {NameOf(m)} replaces {NameOf(Default)}";
        if (NeedsPng(m) && typical is not null && typical.PngBpd > 0 && typical.Mean >= typical.PngBpd)
            return (WeakModelFallback, $"the model's mean training bpd {typical.Mean:F3} is not below PNG's {typical.PngBpd:F3} bits/dim on the same images (train longer), so the default is {NameOf(WeakModelFallback)} instead of {NameOf(m)}");
        return (m, reason);
    }

    public static string Describe(OodMethod m) => m switch
    {
        OodMethod.Bpd => "bits/dim of the model",
        OodMethod.Complexity => "bpd − PNG bits/dim (Serrà et al. 2020)",
        OodMethod.ComplexityWebp => "bpd − lossless-WebP bits/dim (Serrà et al. 2020)",
        OodMethod.Ratio => "bpd − background-model bpd (Ren et al. 2019)",
        OodMethod.Typicality => "|bpd − training mean bpd| (Nalisnick et al. 2019b)",
        OodMethod.Neighbours => $"mean pixel distance to the {NeighbourReference.DefaultK} nearest training images (k-NN, Sun et al. 2022)",
        OodMethod.ComplexityNeighbours => "z(complexity) + z(knn), standardised on training images",
        _ => m.ToString(),
    };
}
