using System.Text.Json;
using System.Text.Json.Serialization;
using DenseFlow.Flows;

namespace DenseFlow.Model;

public enum CouplingKind { Dense, Glow }
public enum DequantizationKind { Variational, Uniform }
public enum PriorKind { Learned, Standard }
/// <summary>
/// Everything that defines a DenseFlow architecture (SPEC §1–§6). Serialised as JSON; lists are per block.
/// </summary>
public sealed record DenseFlowConfig
{
    /// <summary>C, H, W of the images.</summary>
    public int[] InputShape { get; init; } = [3, 32, 32];
    /// <summary>Units per block (S_b); the number of blocks is its length.</summary>
    public int[] UnitsPerBlock { get; init; } = [6, 4, 1];
    /// <summary>Glow-like modules per unit, per block (M_b).</summary>
    public int[] ModulesPerUnit { get; init; } = [5, 6, 20];
    /// <summary>k: noise channels appended before every unit but the first.</summary>
    public int GrowthRate { get; init; } = 10;
    /// <summary>Projection width P of the coupling network, per block (48 in the paper).</summary>
    public int[] CouplingWidth { get; init; } = [48, 48, 48];
    public int DenseDepth { get; init; } = 7;
    public int DenseGrowth { get; init; } = 64;
    /// <summary>Nyström landmarks per block; H·W of the block must be divisible by it.</summary>
    public int[] Landmarks { get; init; } = [4, 4, 4];
    public CouplingKind Coupling { get; init; } = CouplingKind.Dense;
    public AugmentationKind Augmentation { get; init; } = AugmentationKind.Preconditioned;
    public DequantizationKind Dequantization { get; init; } = DequantizationKind.Variational;
    public PriorKind Prior { get; init; } = PriorKind.Learned;
    public int NumBits { get; init; } = 8;

    // The dequantizer's settings are hard-coded in the reference; exposed for completeness.
    public int DequantSteps { get; init; } = 4;
    public int DequantContextChannels { get; init; } = 64;
    public int DequantWidth { get; init; } = 64;
    public int DequantDepth { get; init; } = 4;
    public int DequantGrowth { get; init; } = 64;
    public int DequantContextDepth { get; init; } = 4;
    public int DequantContextGrowth { get; init; } = 16;

    [JsonIgnore] public int Channels => InputShape[0];
    [JsonIgnore] public int Height => InputShape[1];
    [JsonIgnore] public int Width => InputShape[2];
    [JsonIgnore] public int Dimensions => InputShape[0] * InputShape[1] * InputShape[2];
    [JsonIgnore] public int Blocks => UnitsPerBlock.Length;
    /// <summary>Noise channels actually appended (0 without augmentation).</summary>
    [JsonIgnore] public int EffectiveGrowth => Augmentation == AugmentationKind.None ? 0 : GrowthRate;

    /// <summary>Null when images of <paramref name="shape"/> fit the model, else what differs (for one-line errors).</summary>
    public string? ShapeMismatch(DenseFlow.Data.ImageShape shape) =>
        shape.Channels == Channels && shape.Height == Height && shape.Width == Width ? null
            : $"images are {shape.Channels}×{shape.Height}×{shape.Width} (channels×height×width), the model expects {Channels}×{Height}×{Width}";

    public static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.KebabCaseLower) },
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    public static DenseFlowConfig FromJson(string json, string source = "config")
    {
        try
        {
            return JsonSerializer.Deserialize<DenseFlowConfig>(json, Json)
                   ?? throw new ConfigException($"{source}: empty configuration");
        }
        catch (JsonException e)
        {
            throw new ConfigException($"{source}: not a valid DenseFlow configuration ({e.Message.Split('\n')[0]})");
        }
    }

    public static DenseFlowConfig Load(string path)
    {
        if (!File.Exists(path)) throw new ConfigException($"{path}: configuration file not found");
        return FromJson(File.ReadAllText(path), path);
    }

    /// <summary>Per-block derived sizes; throws <see cref="ConfigException"/> naming the block and size when a size does not fit.</summary>
    public ArchitecturePlan Plan() => ArchitecturePlan.From(this);
}
