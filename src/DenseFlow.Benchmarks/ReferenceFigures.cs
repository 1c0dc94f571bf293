namespace DenseFlow.Benchmarks;

/// <summary>
/// The authors' PyTorch DenseFlow on a 2-vCPU AVX-512 Xeon, PyTorch 1.13.1, 2 threads, fp32 (shared/ANCHORS.md).
/// Compare ratios normalised by the calibration conv of each run, never absolute figures.
/// </summary>
public static class ReferenceFigures
{
    const double GiB = 1024.0 * 1024 * 1024;

    public static readonly IReadOnlyList<ReferenceFigure> All =
    [
        new("df-74-10", "train_b32", 18.1, 18.6, 1.74, 9.5),
        new("df-74-10", "train_b64", 36.7, 36.7, 1.75, 16.5),
        new("df-74-10", "sample64", 10.5, 10.5, 6.1, 1.1),
        new("df-74-10", "eval64", 10.6, 10.6, 6.0, 1.2),
        // "would cost ~166 s per image": an estimate from the single-sample speed, not a measurement.
        new("df-74-10", "iwbo", 166, 166, 1 / 166.0, 0, Estimate: true),
        new("small32x1", "train_b32", 3.26, 3.45, 9.8, 2.5),
        new("small32x1", "train_b64", 6.25, 6.46, 10.0, 4.4),
        new("small32x1", "sample64", 1.82, 2.06, 33, 0.67),
        new("small32x1", "eval64", 2.26, 2.31, 28, 0.68),
    ];

    /// <summary>Calibration conv GFLOP/s of PyTorch 1.13 on the reference machine (mid-points of 245–267 and 190–206).</summary>
    public const double PyTorchFwdGflops = 256, PyTorchFwdBwdGflops = 198;

    /// <summary>TorchSharp 0.107.0 on the reference machine in the same run (mid-points of 237–262 and 171–188).</summary>
    public const double TorchSharpFwdGflops = 249.5, TorchSharpFwdBwdGflops = 179.5;

    public static ReferenceFigure? Find(string preset, string measurement) =>
        All.FirstOrDefault(f => f.Preset == preset && f.Measurement == measurement);

    public static long PeakRssBytes(ReferenceFigure f) => (long)(f.PeakRssGiB * GiB);

    /// <summary>The reference calibration to normalise a measurement by: fwd+bwd for training, fwd otherwise.</summary>
    public static double CalibrationFor(string measurement) => measurement.StartsWith("train", StringComparison.Ordinal) ? PyTorchFwdBwdGflops : PyTorchFwdGflops;
}
