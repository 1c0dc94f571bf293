using static TorchSharp.torch;

namespace DenseFlow.Noise;

/// <summary>One draw of a pass: its kind and shape.</summary>
public sealed record NoiseDraw(bool Normal, long[] Shape);

/// <summary>
/// Records the kind and shape of every draw and answers with zeros: a dry pass over one image tells how many
/// rows per image, and in which order, a pass over n images draws (every draw has the images, or their
/// repeats, as its first dimension). A rank that skips a pass replays those draws on the real stream to
/// advance it exactly as computing the pass would.
/// </summary>
public sealed class DrawShapeRecorder : INoiseSource
{
    public List<NoiseDraw> Draws { get; } = new();

    public Tensor StandardNormal(long[] shape, ScalarType dtype, Device device) => Record(true, shape, dtype, device);
    public Tensor Uniform(long[] shape, ScalarType dtype, Device device) => Record(false, shape, dtype, device);

    Tensor Record(bool normal, long[] shape, ScalarType dtype, Device device)
    {
        Draws.Add(new NoiseDraw(normal, (long[])shape.Clone()));
        return zeros(shape, dtype: dtype, device: device);
    }

    /// <summary>Draws and discards, from <paramref name="noise"/>, what a pass over <paramref name="images"/> images draws, given the draws of a one-image pass.</summary>
    public static void Advance(INoiseSource noise, IReadOnlyList<NoiseDraw> perImage, int images)
    {
        foreach (var d in perImage)
        {
            var shape = (long[])d.Shape.Clone();
            shape[0] *= images;
            using var t = d.Normal ? noise.StandardNormal(shape, ScalarType.Float32, CPU) : noise.Uniform(shape, ScalarType.Float32, CPU);
        }
    }
}
