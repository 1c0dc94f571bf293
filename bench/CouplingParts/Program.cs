// Forward + backward time of one coupling network of a preset and of its parts (dense block, Nyström attention,
// one 1×1 conv), at each block's map size, training batch 32; and the library's fused Newton–Schulz
// pseudo-inverse against the reference's literal update (agreement and time), interleaved round by round.
// Prints medians of 7 rounds. Shapes come from the preset, so the figures are the preset's own.
//   dotnet run -c Release --project bench/CouplingParts -- [preset]      (default fmnist-cpu; ~1 min)
//   dotnet run -c Release --project bench/CouplingParts -- gemm1x1       (a 1×1 conv on NHWC, conv2d vs addmm)
using System.Diagnostics;
using DenseFlow.Model;
using DenseFlow.Nets;
using TorchSharp;
using static TorchSharp.torch;

if (args.Length > 0 && args[0] == "gemm1x1") { Gemm1x1(); return; }
string preset = args.Length > 0 ? args[0] : "fmnist-cpu";
const int Batch = 32, Rounds = 7;
torch.set_num_threads(Environment.ProcessorCount);
torch.manual_seed(0);
var config = Presets.Get(preset);
using var model = new DenseFlowModel(config, new DenseFlow.Noise.SeededNoise(0));

// One coupling network per block, with the shapes the model gives it (first unit, first module).
var seen = new HashSet<string>();
foreach (var (name, module) in model.named_modules())
{
    if (module is not DenseNystromCouplingNet net) continue;
    string block = name.Split('.')[1];
    if (!seen.Add(block)) continue;
    var input = net.named_modules().First(m => m.name == "input").module as TorchSharp.Modules.Conv2d;
    var dense = net.named_modules().First(m => m.name == "dense").module as DenseBlock;
    var attention = net.named_modules().First(m => m.name == "attention").module as NystromAttention;
    long inChannels = input!.weight!.shape[1], width = input.weight!.shape[0];
    long side = BlockSide(int.Parse(block));
    var x = randn(Batch, inChannels, side, side).requires_grad_(true);
    var h = randn(Batch, width, side, side).requires_grad_(true);
    using var conv = nn.Conv2d(width, width, 1);
    net.train(); dense!.train(); attention!.train();
    Console.WriteLine($"{preset} block {block} ({side}×{side}, {inChannels} → width {width}), batch {Batch}, forward + backward, median ms: " +
        $"coupling net {Time(net.forward, x):F2} = dense block {Time(dense.forward, h):F2} + attention {Time(attention.forward, h):F2} + the rest; " +
        $"one 1×1 conv {width}→{width} {Time(conv.forward, h):F3}");

    // Landmark matrices as the attention makes them: column softmax, near-uniform when untrained.
    int l = attention.Landmarks;
    var a2 = (randn(new long[] { Batch, l, l }) * 0.5).softmax(-2).requires_grad_(true);
    var (reference, fused) = Interleaved(ReferencePseudoInverse, k => NystromAttention.IterativePseudoInverse(k), a2);
    using (no_grad())
    {
        var expected = ReferencePseudoInverse(a2);
        double diff = (NystromAttention.IterativePseudoInverse(a2) - expected).abs().max().item<float>();
        Console.WriteLine($"  pseudo-inverse of {Batch}×{l}×{l}: reference update {reference:F3} ms, library (fused) {fused:F3} ms; " +
            $"max |difference| {diff:E2} (max |entry| {expected.abs().max().item<float>():F2})");
    }
}

// The whole model at the same batch: the single-sample bound (dequantizer + flow + prior) and the flow alone.
{
    model.train();
    using var g = new Generator(1);
    var images = randint(0, 1L << config.NumBits, new long[] { Batch, config.Channels, config.Height, config.Width }, dtype: ScalarType.Int64, generator: g);
    var v = (images.to_type(ScalarType.Float32) + 0.5) / (1 << config.NumBits);
    double bound = Time(_ => model.LogLikelihood(images).neg(), images, reps: 5);
    double flow = Time(_ => model.FlowForward(v).LogDet.neg(), v, reps: 5);
    Console.WriteLine($"{preset} model, batch {Batch}, forward + backward, median ms: bound {bound:F1} = flow {flow:F1} + dequantizer and prior {bound - flow:F1}");
}

// The dequantizer's networks: the context net on the images, one coupling conditioner at (4C, H/2, W/2).
{
    var contextNet = model.named_modules().First(m => m.module is DequantizerContextNet).module as DequantizerContextNet;
    var denseIn = contextNet!.named_modules().First(m => m.name == "dense_in").module as DenseBlock;
    var conditioner = model.named_modules().First(m => m.module is ResidualDenseNet).module as ResidualDenseNet;
    var firstConv = conditioner!.named_modules().First(m => m.name == "input").module as TorchSharp.Modules.Conv2d;
    var xc = randn(Batch, config.Channels, config.Height, config.Width).requires_grad_(true);
    var c = randn(Batch, firstConv!.weight!.shape[1], config.Height / 2, config.Width / 2).requires_grad_(true);
    contextNet.train(); conditioner.train();
    Console.WriteLine($"{preset} dequantizer, batch {Batch}, forward + backward, median ms: context net {Time(contextNet.forward, xc):F2} " +
        $"(its {config.Height}×{config.Width} dense block {Time(denseIn!.forward, xc):F2}), " +
        $"one coupling conditioner {Time(conditioner.forward, c):F2}");
}

// Every kind of dense block in the model, both activation layouts, interleaved round by round.
{
    var kinds = new Dictionary<string, (DenseBlock Block, long[] Shape)>();
    foreach (var (name, module) in model.named_modules())
    {
        if (module is not DenseBlock block) continue;
        var firstConv = block.named_modules().First(m => m.module is TorchSharp.Modules.Conv2d).module as TorchSharp.Modules.Conv2d;
        long inC = firstConv!.weight!.shape[1];
        string owner = name.Contains("context") ? (name.Contains("dense_in") ? "context in" : "context out")
            : name.Contains("dequant") ? "dequantizer conditioner" : "coupling";
        long side = name.Contains("dense_in") ? config.Height : name.Contains("dequant") ? config.Height / 2
            : BlockSide(int.Parse(name.Split('.')[1]));
        string key = $"{owner} {side}×{side} in {inC} depth {block.Depth}";
        kinds.TryAdd(key, (block, new[] { Batch, inC, side, side }));
    }
    foreach (var (key, (block, shape)) in kinds)
    {
        var x = randn(shape).requires_grad_(true);
        block.train();
        Tensor In(ActivationLayout layout, Tensor t) { block.Layout = layout; return block.forward(t); }
        var (first, last) = Interleaved(t => In(ActivationLayout.ChannelsFirst, t), t => In(ActivationLayout.ChannelsLast, t), x);
        block.Layout = ActivationLayout.Auto;
        Console.WriteLine($"dense block ({key}), batch {Batch}, forward + backward, median ms: channels-first {first:F2}, channels-last {last:F2}");
    }
}

// The reference's update, written as it is: V ← ¼V(13I − KV(15I − KV(7I − KV))).
static Tensor ReferencePseudoInverse(Tensor k)
{
    using var scope = NewDisposeScope();
    var eye = torch.eye(k.shape[^1], dtype: k.dtype);
    var abs = k.abs();
    var v = k.transpose(-1, -2).div(abs.sum(-2, keepdim: true).amax(new long[] { -1 }, keepdim: true) * abs.sum(-1, keepdim: true).amax(new long[] { -2 }, keepdim: true));
    for (int i = 0; i < NystromAttention.PinvIterations; i++)
    {
        var kv = matmul(k, v);
        v = matmul(0.25 * v, 13 * eye - matmul(kv, 15 * eye - matmul(kv, 7 * eye - kv)));
    }
    return v.MoveToOuterDisposeScope();
}

// Map side of flow block b: the input is squeezed once before block 0 and halved at each transition.
long BlockSide(int b) => config.InputShape[1] / (2L << b);

// Medians of two variants timed alternately, one round each at a time, so the machine's drift hits both alike.
static (double A, double B) Interleaved(Func<Tensor, Tensor> a, Func<Tensor, Tensor> b, Tensor x, int reps = 30)
{
    var ta = new List<double>(); var tb = new List<double>();
    for (int r = 0; r < Rounds; r++) { ta.Add(Time(a, x, reps, rounds: 1)); tb.Add(Time(b, x, reps, rounds: 1)); }
    ta.Sort(); tb.Sort();
    return (ta[Rounds / 2], tb[Rounds / 2]);
}

static double Time(Func<Tensor, Tensor> f, Tensor x, int reps = 30, int rounds = Rounds)
{
    for (int i = 0; i < 3; i++) { using var s = NewDisposeScope(); f(x).sum().backward(); }
    var t = new List<double>();
    for (int r = 0; r < rounds; r++)
    {
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < reps; i++) { using var s = NewDisposeScope(); f(x).sum().backward(); }
        t.Add(sw.Elapsed.TotalMilliseconds / reps);
    }
    t.Sort();
    return t[rounds / 2];
}

// A c→c 1×1 conv on NHWC activations (16×16, batch 32, small32x1's map size), forward + backward:
// libtorch's conv2d (oneDNN brgemm) against the same product as one addmm over the N·H·W rows (MKL).
static void Gemm1x1()
{
    const long n = 32, hw = 16;
    foreach (int c in new[] { 64, 128, 192, 256 })
    {
        var x = ActivationLayouts.ToChannelsLast(randn(n, c, hw, hw)).requires_grad_(true);
        using var conv = nn.Conv2d(c, c, 1);
        var w = conv.weight!; var b = conv.bias!;
        Tensor ViaConv(Tensor t) => conv.forward(t);
        Tensor ViaGemm(Tensor t) => addmm(b, t.permute(0, 2, 3, 1).reshape(-1, c), w.view(c, c).t(), 1, 1).view(n, hw, hw, c).permute(0, 3, 1, 2);
        double diff;
        using (no_grad()) diff = (ViaConv(x) - ViaGemm(x)).abs().max().item<float>();
        var (a, g) = Interleaved(ViaConv, ViaGemm, x, reps: 20);
        double gflop = 3 * 2.0 * n * hw * hw * c * c / 1e9;
        Console.WriteLine($"1×1 conv {c}→{c}, 16×16 NHWC, batch 32, forward + backward: conv2d {a:F3} ms ({gflop / a * 1e3:F0} GFLOP/s), " +
            $"addmm {g:F3} ms ({gflop / g * 1e3:F0} GFLOP/s); max |difference| {diff:E1}");
    }
}
