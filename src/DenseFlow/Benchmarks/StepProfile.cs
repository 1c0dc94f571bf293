using System.Diagnostics;
using System.Globalization;
using System.Text;
using DenseFlow.Flows;
using DenseFlow.Model;
using DenseFlow.Nets;
using DenseFlow.Noise;
using DenseFlow.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace DenseFlow.Benchmarks;

/// <summary>One row of a training-step profile: median forward and backward seconds of a part, and its conv GFLOP.</summary>
public sealed record ProfileRow(string Part, double ForwardSeconds, double BackwardSeconds, double? ConvGflop, string? Note = null)
{
    public double TotalSeconds => ForwardSeconds + BackwardSeconds;
}

/// <summary>Where the time of one training step goes (see <see cref="StepProfile.Run"/>).</summary>
public sealed record StepProfileReport(string Model, int Batch, int Threads, double StepSeconds, IReadOnlyList<ProfileRow> Rows, double? CpuShare)
{
    public string ToTable()
    {
        static string F(double? v, string f = "F3") => v is { } d && double.IsFinite(d) ? d.ToString(f, CultureInfo.InvariantCulture) : "–";
        var sb = new StringBuilder();
        sb.AppendLine($"training-step profile: {Model}, batch {Batch}, {Threads} threads, step {F(StepSeconds)} s, CPU share {F(CpuShare, "F2")}");
        var rows = new List<string[]> { new[] { "part", "fwd s", "bwd s", "total s", "% of step", "conv GFLOP", "GFLOP/s (×3 fwd+bwd)", "note" } };
        foreach (var r in Rows)
        {
            double? gfs = r.ConvGflop is { } g && r.TotalSeconds > 0 ? (r.BackwardSeconds > 0 ? 3 * g : g) / r.TotalSeconds : null;
            rows.Add([r.Part, F(r.ForwardSeconds), F(r.BackwardSeconds), F(r.TotalSeconds), F(100 * r.TotalSeconds / StepSeconds, "F1"), F(r.ConvGflop, "F1"), F(gfs, "F1"), r.Note ?? ""]);
        }
        var widths = Enumerable.Range(0, rows[0].Length).Select(i => rows.Max(r => r[i].Length)).ToArray();
        for (int i = 0; i < rows.Count; i++)
        {
            sb.AppendLine(string.Join("  ", rows[i].Select((c, j) => j == 0 || j == rows[i].Length - 1 ? c.PadRight(widths[j]) : c.PadLeft(widths[j]))).TrimEnd());
            if (i == 0) sb.AppendLine(string.Join("  ", widths.Select(w => new string('-', w))));
        }
        return sb.ToString();
    }
}

/// <summary>
/// Splits one training step into forward / backward / optimizer, then times each part of the model on its
/// own (forward, and backward of the sum of its outputs) at the shapes the step feeds it: the dequantizer,
/// every block, and — standing in for all the coupling networks of a block — one coupling network, its
/// dense block and its Nyström attention, plus one invertible 1×1 conv. Parts are timed in isolation, so
/// they do not add up exactly to the step.
/// </summary>
public static class StepProfile
{
    public static StepProfileReport Run(BenchmarkOptions o, int batch = 32, Action<string>? log = null)
    {
        int threads = Benchmark.SetThreads(o);
        var device = torch.device(o.Device);
        var config = o.ResolveConfig();
        int repeats = Math.Max(1, o.Repeats);
        torch.manual_seed(o.Seed);
        using var model = new DenseFlowModel(config, new SeededNoise(o.Seed));
        model.to(device);
        model.train();
        using var gen = new Generator((ulong)o.Seed + 12345, CPU);
        using var xCpu = randint(0, 1L << config.NumBits, new long[] { batch, config.Channels, config.Height, config.Width }, dtype: ScalarType.Int64, generator: gen);
        using var x = xCpu.to(device);
        using var optimizer = new Adamax(model.named_parameters().Where(p => p.parameter.requires_grad).Select(p => (p.name, (Tensor)p.parameter)));
        double scale = config.Dimensions * Math.Log(2);
        var rows = new List<ProfileRow>();
        var flops = ConvFlops.Breakdown(config);

        // 1. The whole step, split.
        var fwd = new List<double>(); var bwd = new List<double>(); var opt = new List<double>(); var step = new List<double>();
        using var self = Process.GetCurrentProcess();
        TimeSpan cpu0 = TimeSpan.Zero; var wall = new Stopwatch();
        for (int i = 0; i < repeats + 1 + o.Warmup; i++)
        {
            bool timed = i >= 1 + o.Warmup; // step 0 initialises ActNorm
            if (timed && !wall.IsRunning) { self.Refresh(); cpu0 = self.TotalProcessorTime; wall.Start(); }
            var (f, b, u, total) = Benchmark.TimedTrainingStep(model, optimizer, x, scale);
            if (!timed) continue;
            fwd.Add(f); bwd.Add(b); opt.Add(u); step.Add(total);
        }
        wall.Stop(); self.Refresh();
        double share = (self.TotalProcessorTime - cpu0).TotalSeconds / Math.Max(1e-9, wall.Elapsed.TotalSeconds * torch.get_num_threads());
        double stepSeconds = Benchmark.Median(step);
        rows.Add(new ProfileRow("whole step: forward + backward", Benchmark.Median(fwd), Benchmark.Median(bwd), flops.Total * batch));
        rows.Add(new ProfileRow("whole step: optimizer (zero_grad + Adamax)", Benchmark.Median(opt), 0, null));
        log?.Invoke($"step {stepSeconds:F3} s");

        (double F, double B) TimePart(Func<Tensor[]> forward)
        {
            var f = new List<double>(); var b = new List<double>();
            for (int i = 0; i < repeats + 1; i++)
            {
                using var scope = NewDisposeScope();
                var sw = Stopwatch.StartNew();
                var outs = forward();
                double t1 = sw.Elapsed.TotalSeconds;
                var sum = outs.Select(t => t.sum()).Aggregate((a, c) => a + c);
                double t2 = sw.Elapsed.TotalSeconds;
                sum.backward();
                double t3 = sw.Elapsed.TotalSeconds;
                if (i == 0) continue; // warm-up
                f.Add(t1); b.Add(t3 - t2);
            }
            model.zero_grad();
            return (Benchmark.Median(f), Benchmark.Median(b));
        }

        // 2. Dequantizer, then each block at the input the step gives it.
        var (dF, dB) = TimePart(() =>
        {
            var (v, ld) = model.Dequantizer.Dequantize(x, null, model.Noise, model.DType);
            return [v, ld];
        });
        rows.Add(new ProfileRow("dequantizer (context net + flow)", dF, dB, (flops.DequantizerContext + flops.DequantizerCouplings + flops.DequantizerInvertible1x1) * batch));

        Tensor h;
        using (no_grad())
        {
            var (v, _) = model.Dequantizer.Dequantize(x, null, model.Noise, model.DType);
            h = Squeeze.Apply(v - 0.5).DetachFromDisposeScope();
        }
        var plan = model.Plan;
        for (int b = 0; b < model.Blocks.Count; b++)
        {
            var block = model.Blocks[b];
            var bp = plan.Blocks[b];
            var input = h;
            var (bF, bB) = TimePart(() => { var (y, ld) = block.forward(input, new TransformContext(model.Noise, model.DType)); return [y, ld]; });
            double hw = bp.Height * bp.Width;
            double blockFlops = 0;
            foreach (int w in bp.UnitWidths)
                blockFlops += bp.ModulesPerUnit * (CouplingGflop(config, w, bp.CouplingWidth, hw) + 2.0 * w * w * hw / 1e9);
            if (config.Augmentation == AugmentationKind.Preconditioned)
                foreach (int n in bp.NoiseNetInputs) blockFlops += 2.0 * (n * 4.0 * n * 9 + 4.0 * n * 2 * config.EffectiveGrowth) * hw / 1e9;
            int modules = bp.Units * bp.ModulesPerUnit;
            rows.Add(new ProfileRow($"block {b} ({bp.Units}×{bp.ModulesPerUnit} modules, widths {bp.UnitWidths[0]}–{bp.UnitWidths[^1]}, {bp.Height}×{bp.Width})",
                bF, bB, blockFlops * batch));
            log?.Invoke($"block {b}: fwd {bF:F3} s, bwd {bB:F3} s");

            // One coupling net at the block's middle unit width, and its parts; scaled by the block's module count.
            if (config.Coupling == CouplingKind.Dense)
            {
                int width = bp.UnitWidths[bp.UnitWidths.Length / 2];
                int cond = width - width / 2, p = bp.CouplingWidth;
                using var netScope = NewDisposeScope();
                var net = new DenseNystromCouplingNet(cond, 2 * (width / 2), p, config.DenseDepth, config.DenseGrowth, bp.Landmarks);
                var dense = new DenseBlock(p, p, config.DenseDepth, config.DenseGrowth, gated: true);
                var attention = new NystromAttention(p, p / 2, bp.Landmarks);
                var conv = new Conv1x1(width);
                foreach (var m in new nn.Module[] { net, dense, attention, conv }) { m.to(device); m.train(); }
                var gen2 = new Generator((ulong)o.Seed + 7, CPU);
                var xc = randn(new long[] { batch, cond, bp.Height, bp.Width }, generator: gen2).to(device);
                var xp = randn(new long[] { batch, p, bp.Height, bp.Width }, generator: gen2).to(device).requires_grad_(true);
                var xw = randn(new long[] { batch, width, bp.Height, bp.Width }, generator: gen2).to(device).requires_grad_(true);
                var (nF, nB) = TimePart(() => [net.forward(xc)]);
                var (deF, deB) = TimePart(() => [dense.forward(xp)]);
                var (aF, aB) = TimePart(() => [attention.forward(xp)]);
                var (cF, cB) = TimePart(() => { var (y, ld) = conv.forward(xw); return [y, ld]; });
                double netG = CouplingGflop(config, width, p, hw) * batch;
                double denseG = DenseGflop(p, p, config.DenseDepth, config.DenseGrowth, hw) * batch;
                double attG = 2.0 * (p * 3.0 * (p / 2) + (p / 2) * (double)p) * hw / 1e9 * batch;
                string each = $"× {modules} modules (one timed, width {width})";
                rows.Add(new ProfileRow($"  coupling nets", nF * modules, nB * modules, netG * modules, each));
                rows.Add(new ProfileRow($"    of which dense blocks", deF * modules, deB * modules, denseG * modules, each));
                rows.Add(new ProfileRow($"    of which Nyström attention", aF * modules, aB * modules, attG * modules, each));
                rows.Add(new ProfileRow($"  invertible 1×1 convs (conv + slogdet)", cF * modules, cB * modules, 2.0 * width * width * hw / 1e9 * batch * modules, each));
                gen2.Dispose();
                foreach (var m in new nn.Module[] { net, dense, attention, conv }) m.Dispose();
            }

            using (no_grad())
            {
                var (y, _) = block.forward(input, new TransformContext(model.Noise, model.DType));
                if (b < model.Transitions.Count)
                {
                    var (kept, _) = model.Transitions[b].forward(y);
                    h = kept.detach().DetachFromDisposeScope();
                }
            }
            input.Dispose();
        }
        return new StepProfileReport(o.ModelName, batch, threads, stepSeconds, rows, share);
    }

    static double DenseGflop(int cin, int cout, int depth, int growth, double hw)
    {
        double m = 0;
        for (int i = 0; i < depth; i++) { double c = cin + i * growth; m += c * c + c * growth * 9; }
        m += (cin + depth * growth) * 3.0 * cout;
        return 2 * m * hw / 1e9;
    }

    static double CouplingGflop(DenseFlowConfig c, int width, int p, double hw)
    {
        int cond = width - width / 2, output = 2 * (width / 2);
        if (c.Coupling == CouplingKind.Glow) return 2.0 * (cond * p * 9.0 + p * (double)p + p * output * 9.0) * hw / 1e9;
        return 2.0 * (cond * (double)p + p * 3.0 * (p / 2) + (p / 2) * (double)p + 2.0 * p * p + p * (double)output) * hw / 1e9
               + DenseGflop(p, p, c.DenseDepth, c.DenseGrowth, hw);
    }
}
