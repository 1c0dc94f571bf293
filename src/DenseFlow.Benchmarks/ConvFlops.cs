using DenseFlow.Flows;
using DenseFlow.Model;

namespace DenseFlow.Benchmarks;

/// <summary>
/// Analytic count of every convolution of a DenseFlow model (SPEC §2–§6) for one image. Spatial sizes
/// come from <see cref="ArchitecturePlan"/>: block b's modules and noise nets run at the plan's H×W; the
/// dequantizer's context net runs its first dense block at H×W, its stride-2 conv outputs H/2×W/2, and
/// everything else of the dequantizer runs at H/2×W/2.
/// </summary>
public static class ConvFlops
{
    /// <summary>Forward conv GFLOP per image. With the invertible 1×1 convs (default) the count matches ANCHORS.md.</summary>
    public static double ForwardGflopsPerImage(DenseFlowConfig c, bool includeInvertible1x1 = true)
    {
        var b = Breakdown(c);
        return includeInvertible1x1 ? b.Total : b.WithoutInvertible1x1;
    }

    /// <summary>GFLOP of one Conv2d (no bias): 2·in·out·k²·outH·outW·batch / 1e9.</summary>
    public static double Conv2dGflop(long inChannels, long outChannels, long kernel, long outHeight, long outWidth, long batch = 1) =>
        2.0 * inChannels * outChannels * kernel * kernel * outHeight * outWidth * batch / 1e9;

    /// <summary>MAC of one conv per output pixel.</summary>
    static double Mac(long cin, long cout, long k = 1) => (double)cin * cout * k * k;

    /// <summary>MAC per pixel of a <see cref="Nets.DenseBlock"/>: per layer conv1×1(c→c) + conv3×3(c→g), then the (gated) 1×1 output conv.</summary>
    static double DenseBlockMac(int cin, int cout, int depth, int growth, bool gated = true)
    {
        double m = 0;
        for (int i = 0; i < depth; i++)
        {
            int ch = cin + i * growth;
            m += Mac(ch, ch) + Mac(ch, growth, 3);
        }
        return m + Mac(cin + depth * growth, gated ? 3 * cout : cout);
    }

    /// <summary>MAC per pixel of one coupling network (conditions on ceil(c/2) channels, outputs 2·floor(c/2)).</summary>
    static double CouplingNetMac(DenseFlowConfig c, int width, int p)
    {
        int condition = width - width / 2, output = 2 * (width / 2);
        if (c.Coupling == CouplingKind.Glow)
            return Mac(condition, p, 3) + Mac(p, p) + Mac(p, output, 3);
        int e = p / 2;
        return Mac(condition, p)                       // input projection
               + Mac(p, 3 * e) + Mac(e, p)             // attention qkv and output convs
               + DenseBlockMac(p, p, c.DenseDepth, c.DenseGrowth)
               + Mac(2 * p, p)                         // blend (no bias)
               + Mac(p, output);                       // zero-initialised output
    }

    public static ConvFlopsBreakdown Breakdown(DenseFlowConfig c)
    {
        var plan = c.Plan();
        double coupling = 0, inv = 0, noise = 0;
        int k = c.EffectiveGrowth;
        bool noiseNets = c.Augmentation == AugmentationKind.Preconditioned && k > 0;
        foreach (var bp in plan.Blocks)
        {
            double hw = (double)bp.Height * bp.Width;
            foreach (int width in bp.UnitWidths)
            {
                coupling += bp.ModulesPerUnit * CouplingNetMac(c, width, bp.CouplingWidth) * hw;
                inv += bp.ModulesPerUnit * Mac(width, width) * hw;
            }
            if (noiseNets)
                foreach (int n in bp.NoiseNetInputs)
                    noise += (Mac(n, 4 * n, 3) + Mac(4 * n, 2 * k)) * hw;
        }

        double ctx = 0, dqCoupling = 0, dqInv = 0;
        if (c.Dequantization == DequantizationKind.Variational)
        {
            double full = (double)c.Height * c.Width, half = (double)(c.Height / 2) * (c.Width / 2);
            int c4 = 4 * c.Channels, cc = c.DequantContextChannels;
            ctx = DenseBlockMac(c.Channels, cc, c.DequantContextDepth, c.DequantContextGrowth) * full
                  + Mac(cc, cc, 2) * half
                  + DenseBlockMac(cc, cc, c.DequantContextDepth, c.DequantContextGrowth) * half;
            int cin = c4 - c4 / 2 + cc, cout = 2 * (c4 / 2);
            dqCoupling = c.DequantSteps * (Mac(cin, c.DequantWidth) + DenseBlockMac(c.DequantWidth, c.DequantWidth, c.DequantDepth, c.DequantGrowth)
                                           + Mac(c.DequantWidth, cout)) * half;
            dqInv = (c.DequantSteps + 1) * Mac(c4, c4) * half;
        }
        static double G(double mac) => 2 * mac / 1e9;
        return new ConvFlopsBreakdown(G(coupling), G(inv), G(noise), G(ctx), G(dqCoupling), G(dqInv));
    }
}
