using static TorchSharp.torch;

namespace DenseFlow.Noise;

/// <summary>
/// The centre of every draw: 0 for a standard normal, ½ for U(0,1). Encoding with it gives one fixed
/// latent per image (the dequantizer's and each cross-unit coupling's base mean), instead of a random one.
/// </summary>
public sealed class MeanNoise : INoiseSource
{
    public Tensor StandardNormal(long[] shape, ScalarType dtype, Device device) => zeros(shape, dtype: dtype, device: device);

    public Tensor Uniform(long[] shape, ScalarType dtype, Device device) => full(shape, 0.5, dtype: dtype, device: device);
}
