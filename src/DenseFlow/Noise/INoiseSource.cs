using TorchSharp;
using static TorchSharp.torch;

namespace DenseFlow.Noise;

/// <summary>
/// The one place every random draw of the model comes from (SPEC §9). Draws happen in a fixed
/// order, so replaying a recorded list reproduces the reference implementation exactly.
/// </summary>
public interface INoiseSource
{
    /// <summary>A standard-normal tensor of the given shape.</summary>
    Tensor StandardNormal(long[] shape, ScalarType dtype, Device device);

    /// <summary>A U(0,1) tensor of the given shape (uniform dequantization only).</summary>
    Tensor Uniform(long[] shape, ScalarType dtype, Device device);
}
