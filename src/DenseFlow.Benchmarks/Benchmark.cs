using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using DenseFlow.Evaluation;
using DenseFlow.Model;
using DenseFlow.Nets;
using DenseFlow.Noise;
using DenseFlow.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace DenseFlow.Benchmarks;

/// <summary>
/// Speed and memory of a DenseFlow model on this machine, next to a calibration convolution measured in the
/// same run (see docs/PERFORMANCE.md).
/// <para>
/// Child protocol (one measurement per process, <see cref="BenchmarkOptions.Isolate"/>): the parent runs
/// <c>ChildCommand bench --child REQUEST</c>, REQUEST being the measurement's name and options as one JSON
/// object (<see cref="ChildArguments"/>); the child runs <see cref="RunOne"/> and prints the <see cref="Measurement"/>
/// as one line of JSON on stdout (<see cref="ChildMain"/> or <see cref="RunChild"/> do both), logs only
/// to stderr, and exits 0. The parent takes the last stdout line that starts with '{'. The child reads its
/// own peak RSS (VmHWM) at the end of the measurement.
/// </para>
/// </summary>
public static class Benchmark
{
    /// <summary>The groups <see cref="BenchmarkOptions.Only"/> accepts, in run order.</summary>
    public static readonly IReadOnlyList<string> Groups = ["calibration", "train", "sample", "eval", "iwbo"];

    /// <summary>Every measurement name, in run order.</summary>
    public static readonly IReadOnlyList<string> MeasurementNames =
        ["calibration_fwd", "calibration_fwd_bwd", "train_b32", "train_b64", "sample64", "eval64", "eval1", "iwbo"];

    public const string ChildFlag = "--child";

    static readonly Dictionary<string, string[]> GroupMembers = new()
    {
        ["calibration"] = ["calibration_fwd", "calibration_fwd_bwd"],
        ["train"] = ["train_b32", "train_b64"],
        ["sample"] = ["sample64"],
        ["eval"] = ["eval64"],
        // eval1 (one image, one draw) is the "K independent single-sample passes" the IWBO is compared with.
        ["iwbo"] = ["eval1", "iwbo"],
    };

    /// <summary>Calibration: Conv2d 3×3, 48→48, padding 1, on 64×48×32×32.</summary>
    public const int CalibrationBatch = 64, CalibrationChannels = 48, CalibrationSize = 32;

    /// <summary>GFLOP of one forward of the calibration conv: 2·48·48·9·32·32·64/1e9 = 2.718.</summary>
    public static double CalibrationGflop => ConvFlops.Conv2dGflop(CalibrationChannels, CalibrationChannels, 3, CalibrationSize, CalibrationSize, CalibrationBatch);

    /// <summary>Groups and names → measurement names in run order; unknown names are refused.</summary>
    public static IReadOnlyList<string> Expand(IEnumerable<string> only)
    {
        var wanted = new HashSet<string>();
        foreach (var raw in only)
        {
            var item = raw.Trim().ToLowerInvariant();
            if (GroupMembers.TryGetValue(item, out var members)) wanted.UnionWith(members);
            else if (MeasurementNames.Contains(item)) wanted.Add(item);
            else throw new ArgumentException($"unknown benchmark measurement '{raw}' (expected a group {string.Join(", ", Groups)} or one of {string.Join(", ", MeasurementNames)})");
        }
        return MeasurementNames.Where(wanted.Contains).ToList();
    }

    /// <summary>Sets torch's intra-op threads: <see cref="BenchmarkOptions.Threads"/>, else DENSEFLOW_THREADS, else every core.</summary>
    public static int SetThreads(BenchmarkOptions o)
    {
        int threads = o.Threads > 0 ? o.Threads
            : Environment.GetEnvironmentVariable("DENSEFLOW_THREADS") is { } s && int.TryParse(s, out int n) && n > 0 ? n
            : Environment.ProcessorCount;
        torch.set_num_threads(threads);
        return threads;
    }

    public static string MachineDescription() =>
        $"{ProcessMemory.CpuModel() ?? RuntimeInformation.ProcessArchitecture.ToString()}, {Environment.ProcessorCount} logical CPUs, "
        + $"{RuntimeInformation.OSDescription}, .NET {Environment.Version}, TorchSharp {typeof(torch).Assembly.GetName().Version}";

    /// <summary>
    /// Runs every measurement of <see cref="BenchmarkOptions.Only"/> and assembles the report. Sets torch's
    /// thread count (<see cref="SetThreads"/>) for the run and restores the previous one afterwards.
    /// </summary>
    public static BenchmarkReport Run(BenchmarkOptions o, Action<string>? log = null)
    {
        int previousThreads = torch.get_num_threads();
        try { return RunAll(o, log); }
        finally { torch.set_num_threads(previousThreads); }
    }

    static BenchmarkReport RunAll(BenchmarkOptions o, Action<string>? log)
    {
        var started = DateTimeOffset.Now;
        var total = Stopwatch.StartNew();
        int threads = SetThreads(o);
        // Before any measurement (and at its thread count), so every figure runs under the settings the report names.
        string heap = Host.NativeHeap.Configure(), oneDnn = Host.OneDnnCheck.Ensure(Console.Error);
        var config = o.ResolveConfig();
        config.Plan(); // refuse a bad configuration before anything runs
        var names = Expand(o.Only);
        var notes = new List<string>();
        var failures = new List<string>();
        bool isolate = o.Isolate && !string.IsNullOrEmpty(o.ChildCommand);
        double? loadStart = ProcessMemory.LoadAverage();

        if (o.Isolate && !isolate)
            notes.Add("isolation was asked for but no child command was given: every measurement ran in this process");
        if (!isolate)
            notes.Add(ProcessMemory.TryResetPeak()
                ? "not isolated: one process ran every measurement; its peak RSS was reset before each one (/proc/self/clear_refs), "
                  + "but memory the allocators kept from earlier measurements still counts (rss_at_start_bytes), so peaks are upper bounds"
                : "not isolated: one process ran every measurement and its peak RSS could not be reset, so each peak includes every earlier measurement's");

        var measured = new List<Measurement>();
        foreach (var name in names)
        {
            log?.Invoke($"{name}: running{(isolate ? " in a child process" : "")}…");
            try
            {
                var m = isolate ? RunChildProcess(name, o, log) : RunOne(name, o);
                measured.Add(m);
                log?.Invoke($"{name}: median {m.MedianSeconds.ToString("G4", CultureInfo.InvariantCulture)} s"
                            + (m.ImagesPerSecond is { } ips ? $", {ips.ToString("G3", CultureInfo.InvariantCulture)} images/s" : "")
                            + $", peak RSS {m.PeakRssBytes / 1048576.0:F0} MiB");
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                failures.Add($"{name}: {e.Message.Split('\n')[0]}");
                log?.Invoke($"{name}: FAILED: {e.Message.Split('\n')[0]}");
            }
        }

        Measurement? Get(string n) => measured.FirstOrDefault(m => m.Name == n);
        double? calFwd = Get("calibration_fwd")?.ModelGflops, calFwdBwd = Get("calibration_fwd_bwd")?.ModelGflops;
        var withFractions = measured.Select(m =>
        {
            if (m.Name.StartsWith("calibration", StringComparison.Ordinal)) return m with { FractionOfCalibration = 1.0 };
            double? cal = m.CalibrationGflops ?? (m.Name.StartsWith("train", StringComparison.Ordinal) ? calFwdBwd : calFwd);
            return m with { FractionOfCalibration = cal is > 0 && m.ModelGflops is { } g ? g / cal : null };
        }).ToList();

        var breakdown = ConvFlops.Breakdown(config);
        var iwbo = withFractions.FirstOrDefault(m => m.Name == "iwbo");
        double? iwboK1000 = null;
        if (iwbo is not null)
        {
            // Per image: the context net once, then K draws; scale the measured time by the conv work at K = 1000.
            double workK = breakdown.DequantizerContext + o.IwboK * breakdown.PerDraw;
            double work1000 = breakdown.DequantizerContext + 1000 * breakdown.PerDraw;
            iwboK1000 = o.IwboK == 1000 ? iwbo.MedianSeconds : iwbo.MedianSeconds * work1000 / workK;
            if (o.IwboK != 1000)
                notes.Add($"iwbo_k1000_seconds_per_image is extrapolated from K = {o.IwboK} in proportion to the conv work "
                          + $"(context once + K draws); measured {iwbo.MedianSeconds:G4} s per image at K = {o.IwboK}");
        }

        var comparisons = new List<ReferenceComparison>();
        if (o.Config is null)
        {
            foreach (var m in withFractions)
            {
                var r = ReferenceFigures.Find(o.Preset, m.Name);
                if (r is null) continue;
                double? ours = m.Name == "iwbo" ? (iwboK1000 is > 0 ? 1 / iwboK1000 : null) : m.ImagesPerSecond;
                double? runCal = m.Name.StartsWith("train", StringComparison.Ordinal) ? calFwdBwd : calFwd;
                double? cal = m.CalibrationGflops ?? runCal;
                if (ours is not > 0 || cal is not > 0) continue;
                double refCal = ReferenceFigures.CalibrationFor(m.Name);
                double ratio = ours.Value / r.ImagesPerSecond;
                var calM = Get(m.Name.StartsWith("train", StringComparison.Ordinal) ? "calibration_fwd_bwd" : "calibration_fwd");
                double? cpuNormalised = m.CpuShare is > 0 && calM?.CpuShare is > 0 && runCal is > 0
                    ? (ours.Value / m.CpuShare.Value / r.ImagesPerSecond) / (runCal.Value / calM.CpuShare.Value / refCal) : null;
                comparisons.Add(new ReferenceComparison(m.Name, ours.Value, r.ImagesPerSecond, ratio, cal.Value, refCal, ratio / (cal.Value / refCal), r.Estimate)
                {
                    CpuNormalisedRatio = cpuNormalised,
                });
            }
        }

        return new BenchmarkReport
        {
            Model = o.ModelName,
            RecomputeFraction = o.RecomputeFraction,
            ActivationLayout = o.Layout.Name(),
            Allocator = Host.NativeAllocator.IsLoaded() ? "tcmalloc" : "glibc",
            Heap = heap,
            OneDnn = oneDnn,
            InputShape = config.InputShape,
            ParameterCount = measured.Select(m => m.ParameterCount).FirstOrDefault(p => p > 0),
            Threads = threads,
            Isolated = isolate,
            Machine = MachineDescription(),
            StartedAt = started.ToString("yyyy-MM-dd HH:mm:ss zzz", CultureInfo.InvariantCulture),
            TotalSeconds = total.Elapsed.TotalSeconds,
            LoadAverageStart = loadStart,
            LoadAverageEnd = ProcessMemory.LoadAverage(),
            ConvGflopsPerImage = breakdown.Total,
            ConvBreakdown = breakdown,
            CalibrationGflop = CalibrationGflop,
            CalibrationFwdGflops = calFwd,
            CalibrationFwdBwdGflops = calFwdBwd,
            TrainB32ImagesPerS = Get("train_b32")?.ImagesPerSecond,
            TrainB64ImagesPerS = Get("train_b64")?.ImagesPerSecond,
            Sample64ImagesPerS = Get("sample64")?.ImagesPerSecond,
            Eval64ImagesPerS = Get("eval64")?.ImagesPerSecond,
            IwboSecondsPerImage = iwbo?.MedianSeconds,
            IwboK1000SecondsPerImage = iwboK1000,
            // The same K draws as K separate passes: one image at a time, or 64 images per pass.
            IwboSpeedupVsSinglePasses = iwboK1000 is > 0 && Get("eval1") is { } e1 ? 1000 * e1.MedianSeconds / iwboK1000 : null,
            IwboSpeedupVsBatchedPasses = iwboK1000 is > 0 && Get("eval64") is { } e64 ? 1000 * e64.MedianSeconds / 64 / iwboK1000 : null,
            IwboK = o.IwboK,
            TrainB32PeakRssBytes = Get("train_b32")?.PeakRssBytes,
            TrainB64PeakRssBytes = Get("train_b64")?.PeakRssBytes,
            Measurements = withFractions,
            Comparisons = comparisons,
            Notes = notes,
            Failures = failures,
        };
    }

    // ───────────────────────────── one measurement ─────────────────────────────

    /// <summary>
    /// Runs one measurement (a name of <see cref="MeasurementNames"/>) in this process. The peak RSS is reset
    /// first where Linux allows and read (VmHWM) at the end. <see cref="Measurement.FractionOfCalibration"/>
    /// is left null: <see cref="Run"/> fills it from the calibration of the same run.
    /// </summary>
    public static Measurement RunOne(string name, BenchmarkOptions o)
    {
        if (!MeasurementNames.Contains(name))
            throw new ArgumentException($"unknown benchmark measurement '{name}' (expected one of {string.Join(", ", MeasurementNames)})");
        if (o.Repeats < 1) throw new ArgumentOutOfRangeException(nameof(o), $"repeats must be at least 1, got {o.Repeats}");
        if (o.Warmup < 0) throw new ArgumentOutOfRangeException(nameof(o), $"warmup must be zero or more, got {o.Warmup}");
        int threads = SetThreads(o);
        var device = torch.device(o.Device);
        // The machine's conv speed drifts from minute to minute (shared hosts), so every model
        // measurement brackets itself with the calibration conv, run just before and just after it.
        bool bracket = !name.StartsWith("calibration", StringComparison.Ordinal);
        bool backward = name.StartsWith("train", StringComparison.Ordinal);
        double? calibrationBefore = bracket ? BracketCalibration(o, device, backward) : null;
        GC.Collect();
        GC.WaitForPendingFinalizers();
        long rssStart = ProcessMemory.CurrentRssBytes();
        bool reset = ProcessMemory.TryResetPeak();
        Measurement m;
        using (var scope = NewDisposeScope())
        {
            m = name switch
            {
                "calibration_fwd" => Calibration(o, device, backward: false),
                "calibration_fwd_bwd" => Calibration(o, device, backward: true),
                "train_b32" => Train(o, device, 32),
                "train_b64" => Train(o, device, 64),
                "sample64" => Sample(o, device, 64),
                "eval64" => Eval(o, device, 64),
                "eval1" => Eval(o, device, 1),
                "iwbo" => Iwbo(o, device),
                _ => throw new UnreachableException(),
            };
        }
        m = m with { PeakRssBytes = ProcessMemory.PeakRssBytes(), PeakRssReset = reset, RssAtStartBytes = rssStart, Threads = threads };
        if (calibrationBefore is { } before)
        {
            double after = BracketCalibration(o, device, backward);
            m = m with { CalibrationGflops = (before + after) / 2, CalibrationSpread = Math.Abs(after - before) / ((before + after) / 2) };
        }
        return m;
    }

    /// <summary>Repeats of the calibration conv run before and after each model measurement.</summary>
    public const int BracketRepeats = 10;

    static double BracketCalibration(BenchmarkOptions o, Device device, bool backward)
    {
        using var scope = NewDisposeScope();
        return Calibration(o with { Warmup = 1, CalibrationRepeats = BracketRepeats }, device, backward).ModelGflops!.Value;
    }

    /// <summary>Times <paramref name="run"/>: <paramref name="warmup"/> untimed, then <paramref name="repeats"/> timed; also the process's CPU share and the .NET garbage collector's activity over the timed runs.</summary>
    static (double[] Seconds, double CpuShare, GcActivity Gc) Time(int warmup, int repeats, Action<bool> run)
    {
        for (int i = 0; i < warmup; i++) run(false);
        using var self = Process.GetCurrentProcess();
        self.Refresh();
        var cpu0 = self.TotalProcessorTime;
        int collections0 = GC.CollectionCount(0);
        var pause0 = GC.GetTotalPauseDuration();
        var wall = Stopwatch.StartNew();
        var seconds = new double[repeats];
        for (int i = 0; i < repeats; i++)
        {
            var sw = Stopwatch.StartNew();
            run(true);
            seconds[i] = sw.Elapsed.TotalSeconds;
        }
        double wallSeconds = wall.Elapsed.TotalSeconds;
        self.Refresh();
        double cpu = (self.TotalProcessorTime - cpu0).TotalSeconds;
        // Gen-0 count includes the higher generations (each collection collects gen 0 too).
        var gc = new GcActivity((GC.CollectionCount(0) - collections0) / (double)repeats, (GC.GetTotalPauseDuration() - pause0).TotalSeconds / repeats);
        return (seconds, cpu / Math.Max(1e-9, wallSeconds * torch.get_num_threads()), gc);
    }

    /// <summary>One training step (zero grad, loss, backward, Adamax at lr 1e-3), timed by phase: forward, backward, optimizer (incl. zero grad), total.</summary>
    internal static (double Forward, double Backward, double Optimizer, double Total) TimedTrainingStep(DenseFlowModel model, Adamax optimizer, Tensor x, double scale)
    {
        using var scope = NewDisposeScope();
        var sw = Stopwatch.StartNew();
        optimizer.ZeroGrad();
        double t0 = sw.Elapsed.TotalSeconds;
        var loss = -model.LogLikelihood(x).mean() / scale;
        double t1 = sw.Elapsed.TotalSeconds;
        loss.backward();
        double t2 = sw.Elapsed.TotalSeconds;
        optimizer.Apply(1e-3);
        double t3 = sw.Elapsed.TotalSeconds;
        return (t1 - t0, t2 - t1, t3 - t2 + t0, t3);
    }

    public static double Median(IReadOnlyList<double> values)
    {
        if (values.Count == 0) return double.NaN;
        var s = values.OrderBy(v => v).ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
    }

    static Measurement Calibration(BenchmarkOptions o, Device device, bool backward)
    {
        int n = CalibrationBatch, c = CalibrationChannels, s = CalibrationSize;
        torch.manual_seed(o.Seed);
        using var conv = nn.Conv2d(c, c, 3, padding: 1);
        conv.to(device);
        using var x = randn(new long[] { n, c, s, s }, device: device).requires_grad_(backward);
        using var grad = randn(new long[] { n, c, s, s }, device: device);
        var inputs = new List<Tensor> { x };
        inputs.AddRange(conv.parameters());
        var (seconds, share, gc) = Time(Math.Max(o.Warmup, 2), Math.Max(1, o.CalibrationRepeats), _ =>
        {
            using var scope = NewDisposeScope();
            if (!backward)
            {
                using var _ng = no_grad();
                conv.forward(x);
            }
            else
            {
                var y = conv.forward(x);
                // autograd.grad computes d/dx and d/dw (2× the forward's work) without accumulating into .grad.
                torch.autograd.grad(new[] { y }, inputs, new[] { grad });
            }
        });
        double median = Median(seconds), gflop = CalibrationGflop * (backward ? 3 : 1);
        return new Measurement(backward ? "calibration_fwd_bwd" : "calibration_fwd", median, n / median, 0, gflop / median, null)
        {
            Batch = n, Seconds = seconds, CpuShare = share, GcCollectionsPerRun = gc.CollectionsPerRun, GcPauseSecondsPerRun = gc.PauseSecondsPerRun,
            Note = $"Conv2d 3×3 {c}→{c} pad 1 on {n}×{c}×{s}×{s}, {CalibrationGflop:F3} GFLOP forward" + (backward ? ", fwd+bwd counted as 3× forward" : ""),
        };
    }

    static DenseFlowModel BuildModel(BenchmarkOptions o, Device device)
    {
        torch.manual_seed(o.Seed);
        var model = new DenseFlowModel(o.ResolveConfig(), new SeededNoise(o.Seed));
        model.to(device);
        model.ActivationLayout = o.Layout;
        return model;
    }

    static Tensor Images(DenseFlowConfig c, int n, long seed, Device device)
    {
        using var g = new Generator((ulong)seed + 12345, CPU);
        using var cpu = randint(0, 1L << c.NumBits, new long[] { n, c.Channels, c.Height, c.Width }, dtype: ScalarType.Int64, generator: g);
        return cpu.to(device);
    }

    /// <summary>Initialises ActNorm (and BatchNorm running statistics) from one no-grad training-mode pass, then switches to eval mode.</summary>
    static void InitialiseForEvaluation(DenseFlowModel model, BenchmarkOptions o, Device device)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        model.train();
        model.LogLikelihood(Images(model.Config, 16, o.Seed + 1, device));
        model.eval();
    }

    static Measurement Train(BenchmarkOptions o, Device device, int batch)
    {
        using var model = BuildModel(o, device);
        model.train();
        model.RecomputeFraction = o.RecomputeFraction;
        using var x = Images(model.Config, batch, o.Seed, device);
        using var optimizer = new Adamax(model.named_parameters().Where(p => p.parameter.requires_grad).Select(p => (p.name, (Tensor)p.parameter)));
        double scale = model.Config.Dimensions * Math.Log(2);
        var forward = new List<double>();
        var backward = new List<double>();
        var update = new List<double>();
        void Step(bool timed)
        {
            var (f, b, u, _) = TimedTrainingStep(model, optimizer, x, scale);
            if (!timed) return;
            forward.Add(f);
            backward.Add(b);
            update.Add(u);
        }
        Step(false); // the first training-mode step initialises ActNorm
        var (seconds, share, gc) = Time(o.Warmup, o.Repeats, Step);
        double median = Median(seconds), ips = batch / median;
        return new Measurement($"train_b{batch}", median, ips, 0, ConvFlops.ForwardGflopsPerImage(model.Config) * ips * 3, null)
        {
            Batch = batch, Seconds = seconds, CpuShare = share, GcCollectionsPerRun = gc.CollectionsPerRun, GcPauseSecondsPerRun = gc.PauseSecondsPerRun, ParameterCount = model.ParameterCount,
            Phases = new() { ["forward"] = Median(forward), ["backward"] = Median(backward), ["optimizer"] = Median(update) },
            Note = o.RecomputeFraction > 0 ? $"{o.RecomputeFraction:P0} of the coupling networks recomputed in the backward pass" : null,
        };
    }

    static Measurement Sample(BenchmarkOptions o, Device device, int n)
    {
        using var model = BuildModel(o, device);
        InitialiseForEvaluation(model, o, device);
        var (seconds, share, gc) = Time(o.Warmup, o.Repeats, _ => model.Sample(n).Dispose());
        double median = Median(seconds), ips = n / median;
        var flops = ConvFlops.Breakdown(model.Config);
        return new Measurement($"sample{n}", median, ips, 0, flops.Total * ips, null)
        {
            Batch = n, Seconds = seconds, CpuShare = share, GcCollectionsPerRun = gc.CollectionsPerRun, GcPauseSecondsPerRun = gc.PauseSecondsPerRun, ParameterCount = model.ParameterCount,
            Note = $"model GFLOP/s counts the forward conv work; sampling runs only the blocks' {flops.Sampling:F2} of the {flops.Total:F2} GFLOP per image",
        };
    }

    static Measurement Eval(BenchmarkOptions o, Device device, int n)
    {
        using var model = BuildModel(o, device);
        InitialiseForEvaluation(model, o, device);
        using var x = Images(model.Config, n, o.Seed, device);
        var (seconds, share, gc) = Time(o.Warmup, o.Repeats, _ =>
        {
            using var _ng = no_grad();
            model.LogLikelihood(x).Dispose();
        });
        double median = Median(seconds), ips = n / median;
        return new Measurement($"eval{n}", median, ips, 0, ConvFlops.ForwardGflopsPerImage(model.Config) * ips, null)
        {
            Batch = n, Seconds = seconds, CpuShare = share, GcCollectionsPerRun = gc.CollectionsPerRun, GcPauseSecondsPerRun = gc.PauseSecondsPerRun, ParameterCount = model.ParameterCount,
        };
    }

    static Measurement Iwbo(BenchmarkOptions o, Device device)
    {
        if (o.IwboImages < 1 || o.IwboK < 1 || o.IwboDrawsPerPass < 1)
            throw new ArgumentOutOfRangeException(nameof(o), "iwbo images, K and draws per pass must be positive");
        using var model = BuildModel(o, device);
        InitialiseForEvaluation(model, o, device);
        using var x = Images(model.Config, o.IwboImages, o.Seed, device);
        // Warm-up: one pass of drawsPerPass draws on one image (a full K = 1000 run is minutes).
        var (seconds, share, gc) = Time(o.Warmup > 0 ? 1 : 0, Math.Max(1, o.IwboRepeats), timed =>
        {
            if (timed) Likelihood.ImportanceWeighted(model, x, o.IwboK, o.IwboDrawsPerPass).Dispose();
            else
            {
                using var one = x.narrow(0, 0, 1);
                Likelihood.ImportanceWeighted(model, one, Math.Min(o.IwboK, o.IwboDrawsPerPass), o.IwboDrawsPerPass).Dispose();
            }
        });
        var perImage = seconds.Select(s => s / o.IwboImages).ToArray();
        double median = Median(perImage);
        var flops = ConvFlops.Breakdown(model.Config);
        double gflopPerImage = flops.DequantizerContext + o.IwboK * flops.PerDraw;
        return new Measurement("iwbo", median, 1 / median, 0, gflopPerImage / median, null)
        {
            Batch = o.IwboImages, Seconds = perImage, CpuShare = share, GcCollectionsPerRun = gc.CollectionsPerRun, GcPauseSecondsPerRun = gc.PauseSecondsPerRun, ParameterCount = model.ParameterCount,
            Note = $"seconds per image at K = {o.IwboK}, {o.IwboDrawsPerPass} draws per pass, {o.IwboImages} images per run",
        };
    }

    // ───────────────────────────── child protocol ─────────────────────────────

    // A child gets its options as one JSON object that System.Text.Json reads back: no second argument
    // parser. Fields left out keep BenchmarkOptions' defaults, so scripts can send only what they set, e.g.
    // {"name":"train_b32","preset":"small32x1","repeats":3,"threads":2}.
    internal sealed record ChildRequest
    {
        static readonly BenchmarkOptions Defaults = new();
        public string Name { get; init; } = "";
        public string Preset { get; init; } = Defaults.Preset;
        public string? Config { get; init; }
        public int Warmup { get; init; } = Defaults.Warmup;
        public int Repeats { get; init; } = Defaults.Repeats;
        public int CalibrationRepeats { get; init; } = Defaults.CalibrationRepeats;
        public int IwboImages { get; init; } = Defaults.IwboImages;
        public int IwboK { get; init; } = Defaults.IwboK;
        public int IwboDrawsPerPass { get; init; } = Defaults.IwboDrawsPerPass;
        public int IwboRepeats { get; init; } = Defaults.IwboRepeats;
        public string Device { get; init; } = Defaults.Device;
        public long Seed { get; init; } = Defaults.Seed;
        public int Threads { get; init; } = Defaults.Threads;
        public double RecomputeFraction { get; init; } = Defaults.RecomputeFraction;
        public string Layout { get; init; } = Defaults.Layout.Name();
    }

    static readonly JsonSerializerOptions ChildJson = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow,
    };

    /// <summary>The arguments (after the executable) of the child that runs <paramref name="name"/>: "bench", <see cref="ChildFlag"/>, one JSON request.</summary>
    public static string[] ChildArguments(string name, BenchmarkOptions o)
    {
        var request = new ChildRequest
        {
            Name = name, Preset = o.Preset, Config = o.Config?.ToJson(), Warmup = o.Warmup, Repeats = o.Repeats,
            CalibrationRepeats = o.CalibrationRepeats, IwboImages = o.IwboImages, IwboK = o.IwboK, IwboDrawsPerPass = o.IwboDrawsPerPass,
            IwboRepeats = o.IwboRepeats, Device = o.Device, Seed = o.Seed, Threads = o.Threads, RecomputeFraction = o.RecomputeFraction,
            Layout = o.Layout.Name(),
        };
        return ["bench", ChildFlag, JsonSerializer.Serialize(request, ChildJson)];
    }

    /// <summary>Reads <see cref="ChildArguments"/> (with or without the leading "bench") back to a name and options.</summary>
    public static (string Name, BenchmarkOptions Options) ParseChildArguments(IReadOnlyList<string> args)
    {
        int start = args.Count > 0 && args[0] == "bench" ? 1 : 0;
        if (args.Count != start + 2 || args[start] != ChildFlag)
            throw new ArgumentException($"a benchmark child takes {ChildFlag} and one JSON request, got {args.Count - start} arguments");
        ChildRequest r;
        try { r = JsonSerializer.Deserialize<ChildRequest>(args[start + 1], ChildJson) ?? throw new JsonException("null request"); }
        catch (JsonException e) { throw new ArgumentException($"{ChildFlag}: not a benchmark request ({e.Message})"); }
        if (r.Name.Length == 0) throw new ArgumentException($"{ChildFlag}: the request names no measurement");
        return (r.Name, new BenchmarkOptions
        {
            Isolate = false, Preset = r.Preset, Config = r.Config is null ? null : DenseFlowConfig.FromJson(r.Config, "benchmark request"),
            Warmup = r.Warmup, Repeats = r.Repeats, CalibrationRepeats = r.CalibrationRepeats, IwboImages = r.IwboImages, IwboK = r.IwboK,
            IwboDrawsPerPass = r.IwboDrawsPerPass, IwboRepeats = r.IwboRepeats, Device = r.Device, Seed = r.Seed, Threads = r.Threads,
            RecomputeFraction = r.RecomputeFraction, Layout = ActivationLayouts.Parse(r.Layout),
        });
    }

    /// <summary>The child's side: runs one measurement and writes it as one JSON line to <paramref name="stdout"/>.</summary>
    public static void RunChild(string name, BenchmarkOptions o, TextWriter stdout)
    {
        var m = RunOne(name, o) with { Isolated = true };
        stdout.WriteLine(m.ToJson());
        stdout.Flush();
    }

    /// <summary>Whole child entry point for a CLI: parses <see cref="ChildArguments"/>, runs, prints; returns the exit code.</summary>
    public static int ChildMain(IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr)
    {
        try
        {
            var (name, o) = ParseChildArguments(args);
            RunChild(name, o, stdout);
            return 0;
        }
        catch (Exception e) when (e is ArgumentException or ConfigException)
        {
            stderr.WriteLine($"denseflow bench: {e.Message}");
            return 2;
        }
    }

    static Measurement RunChildProcess(string name, BenchmarkOptions o, Action<string>? log)
    {
        string command = o.ChildCommand!;
        var psi = new ProcessStartInfo
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        if (command.EndsWith(".dll", StringComparison.OrdinalIgnoreCase))
        {
            psi.FileName = "dotnet";
            psi.ArgumentList.Add(command);
        }
        else psi.FileName = command;
        foreach (var a in ChildArguments(name, o)) psi.ArgumentList.Add(a);

        var stdout = new List<string>();
        var stderr = new List<string>();
        using var p = Process.Start(psi) ?? throw new BenchmarkException($"{name}: could not start {command}");
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (stdout) stdout.Add(e.Data); };
        p.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (stderr) stderr.Add(e.Data);
            log?.Invoke($"  [{name}] {e.Data}");
        };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        p.WaitForExit();
        if (p.ExitCode != 0)
            throw new BenchmarkException($"child process ({command}) exited with {p.ExitCode}" + (stderr.Count > 0 ? ": " + stderr[^1] : ""));
        string? line;
        lock (stdout) line = stdout.LastOrDefault(l => l.TrimStart().StartsWith('{'));
        if (line is null) throw new BenchmarkException($"child for '{name}' printed no JSON measurement line");
        return Measurement.FromJson(line) with { Isolated = true };
    }
}
