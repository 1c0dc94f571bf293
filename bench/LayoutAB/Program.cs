// Interleaved A/B of the dense blocks' activation layouts: one model, one process, the layouts
// alternating step by step (ABBA order), so this machine's drifting convolution speed hits every
// layout alike. Per round and layout: one training step (forward, backward, Adamax) on the training
// batch, one eval-mode log-likelihood of 64 images and one sampling of 64 images. Prints each round
// and the medians.
//   dotnet run -c Release --project bench/LayoutAB -- [preset] [rounds] [train batch] [layouts]
//   dotnet run -c Release --project bench/LayoutAB -- small32x1 8 32 channels-first,auto
//   dotnet run -c Release --project bench/LayoutAB -- blocks     (single dense blocks, forward and backward)
using System.Diagnostics;
using DenseFlow.Benchmarks;
using DenseFlow.Model;
using DenseFlow.Nets;
using DenseFlow.Noise;
using DenseFlow.Training;
using TorchSharp;
using static TorchSharp.torch;

if (args.Length > 0 && args[0] == "blocks") { DenseBlocks(); return; }
string preset = args.Length > 0 ? args[0] : "small32x1";
int rounds = args.Length > 1 ? int.Parse(args[1]) : 8;
int trainBatch = args.Length > 2 ? int.Parse(args[2]) : 32;
var layouts = (args.Length > 3 ? args[3] : "channels-first,auto").Split(',').Select(ActivationLayouts.Parse).ToArray();
torch.set_num_threads(Environment.ProcessorCount);

torch.manual_seed(0);
using var model = new DenseFlowModel(Presets.Get(preset), new SeededNoise(0));
var c = model.Config;
using var g = new Generator(1, CPU);
using var xTrain = randint(0, 1L << c.NumBits, new long[] { trainBatch, c.Channels, c.Height, c.Width }, dtype: ScalarType.Int64, generator: g);
using var xEval = randint(0, 1L << c.NumBits, new long[] { 64, c.Channels, c.Height, c.Width }, dtype: ScalarType.Int64, generator: g);
using var optimizer = new Adamax(model.named_parameters().Select(p => (p.name, (Tensor)p.parameter)));
double bitsScale = Math.Log(2) * c.Channels * c.Height * c.Width;

(double Forward, double Backward) TrainingStep()
{
    using var scope = NewDisposeScope();
    model.train();
    optimizer.ZeroGrad();
    var sw = Stopwatch.StartNew();
    var loss = -model.LogLikelihood(xTrain).mean() / bitsScale;
    double forward = sw.Elapsed.TotalSeconds;
    loss.backward();
    double backward = sw.Elapsed.TotalSeconds - forward;
    optimizer.Apply(1e-3);
    return (forward, backward);
}

double Evaluation()
{
    using var scope = NewDisposeScope();
    using var _ = no_grad();
    model.eval();
    var sw = Stopwatch.StartNew();
    model.LogLikelihood(xEval);
    return sw.Elapsed.TotalSeconds;
}

double Sampling()
{
    using var scope = NewDisposeScope();
    model.eval();
    var sw = Stopwatch.StartNew();
    model.Sample(64);
    return sw.Elapsed.TotalSeconds;
}

Console.WriteLine($"{preset}: training batch {trainBatch}, eval batch 64, {torch.get_num_threads()} threads, {rounds} rounds of {string.Join(", ", layouts.Select(l => l.Name()))}");
TrainingStep(); // initialises ActNorm
foreach (var layout in layouts) { model.ActivationLayout = layout; TrainingStep(); Evaluation(); Sampling(); } // warm-up
var results = layouts.ToDictionary(l => l, _ => (F: new List<double>(), B: new List<double>(), E: new List<double>(), S: new List<double>()));
for (int r = 0; r < rounds; r++)
    foreach (var layout in r % 2 == 0 ? layouts : layouts.Reverse())
    {
        model.ActivationLayout = layout;
        var (f, b) = TrainingStep();
        double e = Evaluation(), sample = Sampling();
        results[layout].F.Add(f); results[layout].B.Add(b); results[layout].E.Add(e); results[layout].S.Add(sample);
        Console.WriteLine($"round {r} {layout.Name(),-14} forward {f:F3} s  backward {b:F3} s  eval64 {e:F3} s  sample64 {sample:F3} s");
    }

static double Median(List<double> v) => Benchmark.Median(v);
var first = layouts[0];
foreach (var layout in layouts)
{
    var (f, b, e, sample) = (Median(results[layout].F), Median(results[layout].B), Median(results[layout].E), Median(results[layout].S));
    double step = Median(results[layout].F.Zip(results[layout].B, (x, y) => x + y).ToList());
    double step0 = Median(results[first].F.Zip(results[first].B, (x, y) => x + y).ToList());
    Console.WriteLine($"median {layout.Name(),-14} forward {f:F3} s  backward {b:F3} s  forward+backward {step:F3} s ({step / step0 - 1:+0.0%;-0.0%})  "
                      + $"eval64 {e:F3} s ({e / Median(results[first].E) - 1:+0.0%;-0.0%})  sample64 {sample:F3} s ({sample / Median(results[first].S) - 1:+0.0%;-0.0%})");
}

// The model's dense blocks one at a time: forward, then autograd.grad for the input and the weights,
// channels-first and channels-last alternating, 5 rounds after one warm-up round, medians.
static void DenseBlocks()
{
    torch.set_num_threads(Environment.ProcessorCount);
    var blocks = new (string Name, int In, int Out, int Depth, int Growth, int Size, int Batch)[]
    {
        ("small32x1 coupling, 16×16, batch 32", 32, 32, 7, 64, 16, 32),
        ("small32x1 coupling, 8×8", 32, 32, 7, 64, 8, 32),
        ("small32x1 coupling, 4×4", 32, 32, 7, 64, 4, 32),
        ("df-74-10 coupling, 16×16", 48, 48, 7, 64, 16, 32),
        ("dequantizer context, 32×32 (1 → 64 channels)", 1, 64, 4, 16, 32, 32),
        ("dequantizer coupling, 16×16", 64, 64, 4, 16, 16, 32),
    };
    var layouts = new[] { ActivationLayout.ChannelsFirst, ActivationLayout.ChannelsLast };
    foreach (var b in blocks)
    {
        torch.manual_seed(0);
        using var block = new DenseBlock(b.In, b.Out, b.Depth, b.Growth, gated: true);
        using var x = randn(b.Batch, b.In, b.Size, b.Size).requires_grad_(true);
        using var gradOutput = randn(b.Batch, b.Out, b.Size, b.Size);
        var inputs = new List<Tensor> { x };
        inputs.AddRange(block.parameters());
        var times = layouts.ToDictionary(l => l, _ => (F: new List<double>(), B: new List<double>()));
        for (int r = -1; r < 5; r++)
            foreach (var layout in layouts)
            {
                using var scope = NewDisposeScope();
                block.Layout = layout;
                var sw = Stopwatch.StartNew();
                var y = block.forward(x);
                double f = sw.Elapsed.TotalSeconds;
                torch.autograd.grad(new[] { y }, inputs, new[] { gradOutput });
                double bwd = sw.Elapsed.TotalSeconds - f;
                if (r >= 0) { times[layout].F.Add(f); times[layout].B.Add(bwd); }
            }
        double F(ActivationLayout l) => Median(times[l].F) * 1e3;
        double B(ActivationLayout l) => Median(times[l].B) * 1e3;
        var (cf, cl) = (ActivationLayout.ChannelsFirst, ActivationLayout.ChannelsLast);
        Console.WriteLine($"| {b.Name} | {F(cf):F1} → {F(cl):F1} ms ({F(cl) / F(cf) - 1:+0%;-0%}) | {B(cf):F1} → {B(cl):F1} ms ({B(cl) / B(cf) - 1:+0%;-0%}) |");
    }
}
