// Forward + backward time of one coupling network of a preset and of its parts (dense block, Nyström attention,
// one 1×1 conv), at each block's map size, training batch 32; and the library's fused Newton–Schulz
// pseudo-inverse against the reference's literal update (agreement and time), interleaved round by round.
// Prints medians of 7 rounds. Shapes come from the preset, so the figures are the preset's own.
//   dotnet run -c Release --project bench/CouplingParts -- [preset]      (default fmnist-cpu; ~1 min)
using System.Diagnostics;
using DenseFlow.Model;
using DenseFlow.Nets;
using TorchSharp;
using static TorchSharp.torch;

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
    long side = config.InputShape[1] / (2L << int.Parse(block)) ;
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
    double reference = 0, fused = 0;
    var tr = new List<double>(); var tf = new List<double>();
    for (int r = 0; r < Rounds; r++)
    {
        tr.Add(Time(_ => ReferencePseudoInverse(a2), a2, rounds: 1));
        tf.Add(Time(_ => NystromAttention.IterativePseudoInverse(a2), a2, rounds: 1));
    }
    tr.Sort(); tf.Sort(); reference = tr[Rounds / 2]; fused = tf[Rounds / 2];
    using (no_grad())
    {
        var expected = ReferencePseudoInverse(a2);
        double diff = (NystromAttention.IterativePseudoInverse(a2) - expected).abs().max().item<float>();
        Console.WriteLine($"  pseudo-inverse of {Batch}×{l}×{l}: reference update {reference:F3} ms, library (fused) {fused:F3} ms; " +
            $"max |difference| {diff:E2} (max |entry| {expected.abs().max().item<float>():F2})");
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
