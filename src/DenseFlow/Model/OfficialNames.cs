using System.Text.RegularExpressions;

namespace DenseFlow.Model;

/// <summary>
/// The one table between our parameter names and the reference implementation's state_dict names
/// (SPEC §10). Top level there: transforms.0 dequantizer, transforms.1 shift, transforms.2 squeeze,
/// then blocks (3, 5, …) and transitions (4, 6, …) alternating; base_dist is the final prior.
/// </summary>
public static class OfficialNames
{
    sealed record Rule(Regex Ours, Func<Match, DenseFlowConfig, string> Official);

    static Rule R(string pattern, Func<Match, DenseFlowConfig, string> official) =>
        new(new Regex("^" + pattern + "$", RegexOptions.Compiled), official);

    static int I(Match m, int group) => int.Parse(m.Groups[group].Value);
    static string S(Match m, int group) => m.Groups[group].Value;
    /// <summary>A dense layer's bottleneck conv is nn.0 and its 3×3 conv nn.2 (nn.1 is the ReLU).</summary>
    static string Nn(string layerPart) => layerPart == "bottleneck" ? "0" : "2";

    const string Enc = "transforms.0.encoder";
    static string Block(int b) => $"transforms.{3 + 2 * b}";
    static string Module(Match m) => $"{Block(I(m, 1))}.blocks.{I(m, 2)}.transforms.{I(m, 3)}";
    const string Coupling = "transforms.2.coupling_net.0.dn.transform";

    static readonly Rule[] Table =
    {
        // Variational dequantizer (SPEC §6).
        R(@"dequantizer\.context\.dense_in\.layers\.(\d+)\.(bottleneck|conv)\.(weight|bias)", (m, c) => $"{Enc}.context_init.1.{I(m, 1)}.nn.{Nn(S(m, 2))}.{S(m, 3)}"),
        R(@"dequantizer\.context\.dense_in\.gate\.conv\.(weight|bias)", (m, c) => $"{Enc}.context_init.1.{c.DequantContextDepth}.conv.{S(m, 1)}"),
        R(@"dequantizer\.context\.down\.(weight|bias)", (m, c) => $"{Enc}.context_init.2.{S(m, 1)}"),
        R(@"dequantizer\.context\.dense_out\.layers\.(\d+)\.(bottleneck|conv)\.(weight|bias)", (m, c) => $"{Enc}.context_init.3.{I(m, 1)}.nn.{Nn(S(m, 2))}.{S(m, 3)}"),
        R(@"dequantizer\.context\.dense_out\.gate\.conv\.(weight|bias)", (m, c) => $"{Enc}.context_init.3.{c.DequantContextDepth}.conv.{S(m, 1)}"),
        R(@"dequantizer\.base\.(loc|log_scale)", (m, c) => $"{Enc}.base_dist.{S(m, 1)}"),
        R(@"dequantizer\.convs\.(\d+)\.weight", (m, c) => $"{Enc}.transforms.{2 * I(m, 1)}.weight"),
        R(@"dequantizer\.couplings\.(\d+)\.net\.input\.(weight|bias)", (m, c) => $"{Enc}.transforms.{2 * I(m, 1) + 1}.coupling_net.0.transform.0.{S(m, 2)}"),
        R(@"dequantizer\.couplings\.(\d+)\.net\.dense\.layers\.(\d+)\.(bottleneck|conv)\.(weight|bias)", (m, c) => $"{Enc}.transforms.{2 * I(m, 1) + 1}.coupling_net.0.transform.1.dense.{I(m, 2)}.nn.{Nn(S(m, 3))}.{S(m, 4)}"),
        R(@"dequantizer\.couplings\.(\d+)\.net\.dense\.gate\.conv\.(weight|bias)", (m, c) => $"{Enc}.transforms.{2 * I(m, 1) + 1}.coupling_net.0.transform.1.dense.{c.DequantDepth}.conv.{S(m, 2)}"),
        R(@"dequantizer\.couplings\.(\d+)\.net\.output\.(weight|bias)", (m, c) => $"{Enc}.transforms.{2 * I(m, 1) + 1}.coupling_net.0.transform.2.{S(m, 2)}"),
        // transforms: [conv, coupling] × steps, conv, unsqueeze, sigmoid.
        R(@"dequantizer\.sigmoid\.temperature", (m, c) => $"{Enc}.transforms.{2 * c.DequantSteps + 2}.temperature"),

        // Glow-like modules (SPEC §3) and their dense + Nyström coupling networks (SPEC §4).
        R(@"blocks\.(\d+)\.units\.(\d+)\.modules\.(\d+)\.actnorm\.(shift|log_scale|initialized)", (m, c) => $"{Module(m)}.transforms.0.{S(m, 4)}"),
        R(@"blocks\.(\d+)\.units\.(\d+)\.modules\.(\d+)\.conv\.weight", (m, c) => $"{Module(m)}.transforms.1.weight"),
        R(@"blocks\.(\d+)\.units\.(\d+)\.modules\.(\d+)\.coupling\.net\.input\.(weight|bias)", (m, c) => $"{Module(m)}.{Coupling}.0.{S(m, 4)}"),
        R(@"blocks\.(\d+)\.units\.(\d+)\.modules\.(\d+)\.coupling\.net\.dense\.layers\.(\d+)\.(bottleneck|conv)\.(weight|bias)", (m, c) => $"{Module(m)}.{Coupling}.1.dense.{I(m, 4)}.nn.{Nn(S(m, 5))}.{S(m, 6)}"),
        R(@"blocks\.(\d+)\.units\.(\d+)\.modules\.(\d+)\.coupling\.net\.dense\.gate\.conv\.(weight|bias)", (m, c) => $"{Module(m)}.{Coupling}.1.dense.{c.DenseDepth}.conv.{S(m, 4)}"),
        R(@"blocks\.(\d+)\.units\.(\d+)\.modules\.(\d+)\.coupling\.net\.attention\.qkv\.(weight|bias)", (m, c) => $"{Module(m)}.{Coupling}.1.mha.qkv.{S(m, 4)}"),
        R(@"blocks\.(\d+)\.units\.(\d+)\.modules\.(\d+)\.coupling\.net\.attention\.out\.(weight|bias)", (m, c) => $"{Module(m)}.{Coupling}.1.mha.out_transform.{S(m, 4)}"),
        R(@"blocks\.(\d+)\.units\.(\d+)\.modules\.(\d+)\.coupling\.net\.mix_norm\.(weight|bias|running_mean|running_var|num_batches_tracked)", (m, c) => $"{Module(m)}.{Coupling}.1.mix_conv.0.{S(m, 4)}"),
        R(@"blocks\.(\d+)\.units\.(\d+)\.modules\.(\d+)\.coupling\.net\.mix_conv\.weight", (m, c) => $"{Module(m)}.{Coupling}.1.mix_conv.2.weight"),
        R(@"blocks\.(\d+)\.units\.(\d+)\.modules\.(\d+)\.coupling\.net\.output\.(weight|bias)", (m, c) => $"{Module(m)}.{Coupling}.2.{S(m, 4)}"),

        // Cross-unit coupling networks g_k (SPEC §5), transitions and the final prior (SPEC §1).
        R(@"blocks\.(\d+)\.noise\.(\d+)\.net\.hidden\.(weight|bias)", (m, c) => $"{Block(I(m, 1))}.noise_params.{I(m, 2)}.transformation.0.{S(m, 3)}"),
        R(@"blocks\.(\d+)\.noise\.(\d+)\.net\.output\.(weight|bias)", (m, c) => $"{Block(I(m, 1))}.noise_params.{I(m, 2)}.transformation.2.{S(m, 3)}"),
        R(@"transitions\.(\d+)\.buffer", (m, c) => $"transforms.{4 + 2 * I(m, 1)}.dist.buffer"),
        R(@"prior\.(loc|log_scale)", (m, c) => $"base_dist.{S(m, 1)}"),
    };

    /// <summary>Reference entries with no counterpart here: constants that an import checks instead of loading.</summary>
    public static IReadOnlyDictionary<string, double> Constants(DenseFlowConfig c) => new Dictionary<string, double>
    {
        ["transforms.0.ldj_per_dim"] = -c.NumBits * Math.Log(2),
        ["transforms.1._shift"] = -0.5,
        ["transforms.1._scale"] = 1.0,
    };

    /// <summary>The reference name of one of our state entries; throws when it has none (e.g. the Glow-coupling ablations).</summary>
    public static string ToOfficial(string ours, DenseFlowConfig config)
    {
        foreach (var rule in Table)
        {
            var m = rule.Ours.Match(ours);
            if (m.Success) return rule.Official(m, config);
        }
        throw new ConfigException($"parameter '{ours}' has no counterpart in the reference implementation (only the official architecture can be imported)");
    }

    /// <summary>Whether the configuration is one the reference code can build (dense coupling, preconditioned noise, variational dequantization, learned prior).</summary>
    public static bool IsOfficialArchitecture(DenseFlowConfig c) =>
        c.Coupling == CouplingKind.Dense && c.Augmentation == Flows.AugmentationKind.Preconditioned
        && c.Dequantization == DequantizationKind.Variational && c.Prior == PriorKind.Learned;
}
