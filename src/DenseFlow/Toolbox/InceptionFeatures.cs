using TorchSharp;
using static TorchSharp.torch;

namespace DenseFlow.Toolbox;

/// <summary>
/// Inception-v3 pool features as clean-fid computes them in its default "clean" mode (Parmar et al. 2022):
/// the TorchScript file inception-2015-12-05.pt (the TF-FID Inception ported by NVIDIA for StyleGAN2-ADA),
/// fed through its `layers` submodule with images resized to 299×299 by PIL bicubic on float pixels in 0..255
/// (<see cref="PilBicubicResize"/>, no rounding, no clipping) and normalised as (x − 128)/128. Grey images are
/// repeated to 3 channels (as PIL's convert("RGB") does). The output, flattened, is the 2048-d pool feature.
/// </summary>
public sealed class InceptionFeatures : IDisposable
{
    public const int InputSize = 299;
    readonly jit.ScriptModule _file;
    readonly jit.ScriptModule _layers;
    public string Path { get; }

    InceptionFeatures(string path, jit.ScriptModule file, jit.ScriptModule layers) { Path = path; _file = file; _layers = layers; }

    /// <summary>Loads the TorchScript file; a missing file or one of another kind raises <see cref="InceptionFileException"/>.</summary>
    public static InceptionFeatures Load(string path)
    {
        if (!File.Exists(path)) throw new InceptionFileException($"{path}: Inception weights file not found (expected clean-fid's TorchScript inception-2015-12-05.pt)");
        jit.ScriptModule file;
        try { file = jit.load(path); }
        catch (Exception e)
        {
            throw new InceptionFileException($"{path}: not a TorchScript file (expected clean-fid's inception-2015-12-05.pt; torch said: {FirstLine(e.Message)})");
        }
        var layers = file.named_children().FirstOrDefault(c => c.name == "layers").module as jit.ScriptModule;
        if (layers is null)
        {
            file.Dispose();
            throw new InceptionFileException($"{path}: TorchScript without a `layers` submodule (expected clean-fid's inception-2015-12-05.pt)");
        }
        file.eval();
        layers.eval();
        return new InceptionFeatures(path, file, layers);
    }

    /// <summary>Integer images (B, 1 or 3, H, W) in 0..255 → the network's input (B, 3, 299, 299) float32.</summary>
    public static Tensor Preprocess(Tensor images)
    {
        if (images.dim() != 4 || images.shape[1] is not (1 or 3))
            throw new ArgumentException($"images: expected (B, 1 or 3, H, W), got ({string.Join(",", images.shape)})");
        using var scope = NewDisposeScope();
        var x = images.to(ScalarType.Float32);
        if (x.shape[1] == 1) x = x.expand(-1, 3, -1, -1);
        var resized = PilBicubicResize.Resize(x, InputSize, InputSize);
        return ((resized - 128) / 128).MoveToOuterDisposeScope();
    }

    /// <summary>Features (B, D) in float64 of integer images (B, 1 or 3, H, W) in 0..255.</summary>
    public Tensor Features(Tensor images)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var input = Preprocess(images);
        object output;
        try { output = _layers.invoke("forward", input); }
        catch (Exception e) { throw new InceptionFileException($"{Path}: the network failed on a (B,3,299,299) batch: {FirstLine(e.Message)}"); }
        if (output is not Tensor features)
            throw new InceptionFileException($"{Path}: `layers` returned {output?.GetType().Name ?? "nothing"}, expected a feature tensor");
        if (features.shape[0] != images.shape[0])
            throw new InceptionFileException($"{Path}: `layers` returned shape ({string.Join(",", features.shape)}) for {images.shape[0]} images");
        return features.flatten(1).to(ScalarType.Float64).MoveToOuterDisposeScope();
    }

    static string FirstLine(string s) => s.Split('\n', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault()?.Trim() ?? "";

    public void Dispose()
    {
        _layers.Dispose();
        _file.Dispose();
    }
}
