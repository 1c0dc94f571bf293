using DenseFlow.Model;
using static TorchSharp.torch;

namespace DenseFlow.Toolbox;

/// <summary>
/// Latent interpolation between two images: encode both to all their latents (<see cref="DenseFlowModel.EncodeLatents"/>),
/// interpolate every latent tensor separately, decode. Each latent is interpolated in the coordinates the
/// model samples it in — the final latent as ε = (z − loc)/σ of the learned prior, the dropped halves as
/// they are (N(0, I)) — and the temperature scales them as sampling does (z = loc + T·σ·ε, dropped·T).
/// </summary>
public static class Interpolation
{
    /// <summary>The position of step <paramref name="i"/> of <paramref name="steps"/>: 0, 1/(n−1), …, 1.</summary>
    public static double Position(int i, int steps) => steps == 1 ? 0 : (double)i / (steps - 1);

    /// <summary>
    /// Spherical interpolation of a and b, each taken as one vector: sin((1−t)Ω)/sin Ω · a + sin(tΩ)/sin Ω · b with
    /// Ω the angle between them; linear when they are (nearly) parallel. t = 0 and t = 1 give a and b exactly.
    /// </summary>
    public static Tensor Slerp(Tensor a, Tensor b, double t)
    {
        if (t == 0) return a.clone();
        if (t == 1) return b.clone();
        using var scope = NewDisposeScope();
        var a64 = a.to(ScalarType.Float64);
        var b64 = b.to(ScalarType.Float64);
        double na = a64.norm().item<double>(), nb = b64.norm().item<double>();
        if (na == 0 || nb == 0) return Lerp(a, b, t).MoveToOuterDisposeScope();
        double cos = Math.Clamp((a64 * b64).sum().item<double>() / (na * nb), -1, 1);
        double omega = Math.Acos(cos), sin = Math.Sin(omega);
        if (sin < 1e-8) return Lerp(a, b, t).MoveToOuterDisposeScope();
        var r = a64 * (Math.Sin((1 - t) * omega) / sin) + b64 * (Math.Sin(t * omega) / sin);
        return r.to(a.dtype).MoveToOuterDisposeScope();
    }

    /// <summary>(1 − t)·a + t·b; t = 0 and t = 1 give a and b exactly.</summary>
    public static Tensor Lerp(Tensor a, Tensor b, double t)
    {
        if (t == 0) return a.clone();
        if (t == 1) return b.clone();
        return a * (1 - t) + b * t;
    }

    public static Tensor Between(Tensor a, Tensor b, double t, InterpolationKind kind) =>
        kind == InterpolationKind.Spherical ? Slerp(a, b, t) : Lerp(a, b, t);

    /// <summary>
    /// <paramref name="steps"/> latents from a to b (each a batch of one). At temperature 1 the first and last are a and b
    /// bit for bit, so they decode to the encoded images.
    /// </summary>
    public static FlowLatents Path(DenseFlowModel model, FlowLatents a, FlowLatents b, int steps, InterpolationKind kind, double temperature = 1.0)
    {
        if (steps < 2) throw new ArgumentOutOfRangeException(nameof(steps), steps, "an interpolation needs at least 2 steps");
        if (a.Batch != 1 || b.Batch != 1) throw new ArgumentException("interpolation end points must be single images");
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var epsA = model.Prior.ToNoise(a.Final);
        var epsB = model.Prior.ToNoise(b.Final);
        var points = new List<FlowLatents>();
        for (int i = 0; i < steps; i++)
        {
            double t = Position(i, steps);
            bool endPoint = temperature == 1.0 && (i == 0 || i == steps - 1);
            var ends = i == 0 ? a : b;
            var final = endPoint ? ends.Final : model.Prior.FromNoise(Between(epsA, epsB, t, kind), temperature);
            var dropped = new List<Tensor>();
            for (int d = 0; d < a.Dropped.Count; d++)
                dropped.Add(endPoint ? ends.Dropped[d] : Between(a.Dropped[d], b.Dropped[d], t, kind) * temperature);
            points.Add(new FlowLatents(final, dropped));
        }
        return FlowLatents.Concat(points).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Interpolates between image pairs: row r goes from <paramref name="starts"/>[r] to <paramref name="ends"/>[r] in
    /// <paramref name="steps"/> images. Encoding draws from the model's noise source (set it to <see cref="Noise.MeanNoise"/>
    /// for one fixed latent per image). Returns integer images (rows·steps, C, H, W), row-major.
    /// </summary>
    public static Tensor Images(DenseFlowModel model, Tensor starts, Tensor ends, int steps, InterpolationKind kind, double temperature = 1.0)
    {
        if (starts.shape[0] != ends.shape[0]) throw new ArgumentException("as many start images as end images are needed");
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var rows = new List<Tensor>();
        for (long r = 0; r < starts.shape[0]; r++)
        {
            using var la = model.EncodeLatents(starts.narrow(0, r, 1));
            using var lb = model.EncodeLatents(ends.narrow(0, r, 1));
            using var path = Path(model, la, lb, steps, kind, temperature);
            rows.Add(model.DecodeLatents(path));
        }
        return cat(rows.ToArray(), 0).MoveToOuterDisposeScope();
    }
}
