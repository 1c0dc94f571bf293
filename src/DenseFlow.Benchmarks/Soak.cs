using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using DenseFlow.Data;
using DenseFlow.Model;
using DenseFlow.Training;
using TorchSharp;

namespace DenseFlow.Benchmarks;

/// <summary>
/// Long-run check (issues #4, #5): trains with the real <see cref="Trainer"/> — epochs, evaluation,
/// sample grids, metrics, TensorBoard, checkpoints — for many steps and samples the process's resident
/// memory and open file descriptors, to show that neither grows.
/// </summary>
public static class Soak
{
    /// <summary>
    /// Open file descriptors of this process (/proc/self/fd) other than loaded code, or −1 where that
    /// cannot be read. The runtime holds two descriptors per managed assembly it loads, and assemblies
    /// load lazily at first use (a test run measured +22 between step 0 and step 9, all of them .dll
    /// images), so counting them would report the first call of a code path as a leak.
    /// </summary>
    public static int OpenFileCount()
    {
        try { return Directory.GetFileSystemEntries("/proc/self/fd").Count(fd => !IsLoadedCode(fd)); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return -1; }
    }

    static bool IsLoadedCode(string fd)
    {
        string? target;
        try { target = new FileInfo(fd).LinkTarget; }
        catch (IOException) { return false; } // closed while we looked: not code either
        if (target is null) return false;
        string name = Path.GetFileName(target);
        return name.EndsWith(".dll", StringComparison.Ordinal) || name.EndsWith(".so", StringComparison.Ordinal) || name.Contains(".so.", StringComparison.Ordinal);
    }

    public static SoakReport Run(SoakOptions o, Action<SoakSample>? onSample = null)
    {
        if (o.Steps < 1) throw new ArgumentOutOfRangeException(nameof(o), $"steps must be at least 1, got {o.Steps}");
        if (o.SampleEvery < 1) throw new ArgumentOutOfRangeException(nameof(o), $"sample interval must be at least 1, got {o.SampleEvery}");
        int previousThreads = torch.get_num_threads();
        Benchmark.SetThreads(new BenchmarkOptions { Threads = o.Threads });
        var config = o.ResolveConfig();
        config.Plan();
        string runDir = o.RunDir ?? Path.Combine(Path.GetTempPath(), $"denseflow-soak-{Environment.ProcessId}-{Guid.NewGuid():N}");
        bool temporary = o.RunDir is null;
        try
        {
            var (train, test, source) = Data(config, o);
            var options = new TrainingOptions
            {
                Dataset = source, Augmentation = Augmentation.Flip, TrainLimit = o.TrainImages, EvalImages = o.EvalImages, BatchSize = o.BatchSize,
                Seed = o.Seed, MaxSteps = o.Steps, CheckpointEverySteps = o.CheckpointEverySteps, SamplesPerEpoch = 16,
                WarmupSteps = Math.Min(200, o.Steps), Device = o.Device,
            };
            using var model = new DenseFlowModel(config, initSeed: o.Seed);
            model.to(torch.device(o.Device));

            var samples = new List<SoakSample>();
            var clock = Stopwatch.StartNew();
            int epochs = 0;
            long firstEpochEnd = long.MaxValue;
            void Take(long step)
            {
                long before = ProcessMemory.CurrentRssBytes();
                // Collect so that native memory held by unreachable tensor handles and the managed garbage
                // of the last steps are released, and let glibc return its free pages: what remains is
                // what the run retains, not what the allocators keep for later.
                GC.Collect();
                GC.WaitForPendingFinalizers();
                GC.Collect();
                ProcessMemory.TrimNativeHeap();
                var s = new SoakSample(step, clock.Elapsed.TotalSeconds, ProcessMemory.CurrentRssBytes(), before, GC.GetTotalMemory(false), OpenFileCount())
                {
                    ManagedCommittedBytes = GC.GetGCMemoryInfo().TotalCommittedBytes,
                };
                samples.Add(s);
                onSample?.Invoke(s);
            }
            Take(0);
            TrainingResult result;
            // Checkpoints are counted on disk: each atomic write ends in a rename onto checkpoint.bin.
            Directory.CreateDirectory(runDir);
            long checkpointWrites = 0;
            using var watcher = new FileSystemWatcher(runDir, Checkpoint.FileName) { NotifyFilter = NotifyFilters.FileName };
            watcher.Renamed += (_, e) => { if (e.Name == Checkpoint.FileName) Interlocked.Increment(ref checkpointWrites); };
            watcher.EnableRaisingEvents = true;
            using (var trainer = new Trainer(model, options, train, test, runDir, resume: false))
            {
                trainer.Progress += p => { if (p.Step % o.SampleEvery == 0) Take(p.Step); };
                trainer.EpochEnded += e => { epochs++; firstEpochEnd = Math.Min(firstEpochEnd, e.Step); };
                result = trainer.Run();
            }
            Take(result.Steps);
            // Rename events arrive asynchronously: wait until the count stops changing.
            for (long seen = -1; seen != Interlocked.Read(ref checkpointWrites);) { seen = Interlocked.Read(ref checkpointWrites); Thread.Sleep(200); }
            watcher.EnableRaisingEvents = false;

            long settleAt = Math.Max(Math.Max(o.CheckpointEverySteps > 0 ? o.CheckpointEverySteps : 0, firstEpochEnd == long.MaxValue ? 0 : firstEpochEnd),
                                     (long)Math.Ceiling(0.1 * o.Steps));
            // The first sample taken after the settle step (the last one if the run is too short to settle).
            var settled = samples.FirstOrDefault(s => s.Step > settleAt) ?? samples[^1];
            var after = samples.Where(s => s.Step >= settled.Step).ToList();
            double rss0 = settled.RssBytes;
            return new SoakReport
            {
                Model = o.ModelName, Data = source, Steps = result.Steps, BatchSize = o.BatchSize, Epochs = epochs,
                Checkpoints = Interlocked.Read(ref checkpointWrites),
                ElapsedSeconds = clock.Elapsed.TotalSeconds, SettledStep = settled.Step,
                RssSettledBytes = settled.RssBytes, RssEndBytes = samples[^1].RssBytes,
                RssMaxAfterSettleBytes = after.Max(s => s.RssBytes), RssMinAfterSettleBytes = after.Min(s => s.RssBytes),
                RssMaxDriftFraction = (after.Max(s => s.RssBytes) - rss0) / rss0,
                RssEndDriftFraction = (samples[^1].RssBytes - rss0) / rss0,
                RssSlopeBytesPer1000Steps = Slope(after) * 1000,
                PeakRssBytes = ProcessMemory.PeakRssBytes(),
                RssMaxBeforeCollectionBytes = after.Max(s => s.RssBeforeCollectionBytes),
                OpenFilesSettled = settled.OpenFiles, OpenFilesEnd = samples[^1].OpenFiles, OpenFilesMax = after.Max(s => s.OpenFiles),
                Machine = Benchmark.MachineDescription(), Samples = samples,
            };
        }
        finally
        {
            torch.set_num_threads(previousThreads);
            if (temporary && Directory.Exists(runDir)) Directory.Delete(runDir, recursive: true);
        }
    }

    /// <summary>
    /// Fashion-MNIST when the model takes 1×28×28 images; otherwise deterministic random images of the
    /// model's shape (the soak checks the process, not the density).
    /// </summary>
    static (IImageDataset Train, IImageDataset Test, string Source) Data(DenseFlowConfig config, SoakOptions o)
    {
        var shape = new ImageShape(config.InputShape[0], config.InputShape[1], config.InputShape[2]);
        if (shape == new ImageShape(1, 28, 28))
            return (Datasets.Open(Datasets.FashionMnist.Name, null, "train", new DatasetOptions { Limit = o.TrainImages }),
                    Datasets.Open(Datasets.FashionMnist.Name, null, "test", new DatasetOptions { Limit = o.EvalImages }), Datasets.FashionMnist.Name);
        IImageDataset Random(string name, int count, long seed)
        {
            var pixels = new byte[(long)count * shape.Size];
            var rng = SplitMix64.For(o.Seed, seed);
            for (int i = 0; i < pixels.Length; i++) pixels[i] = (byte)rng.NextInt(256);
            return new InMemoryDataset(name, shape, pixels);
        }
        return (Random("random-train", o.TrainImages, 1), Random("random-test", o.EvalImages, 2), "random");
    }

    /// <summary>Least-squares slope of RSS against step (bytes per step); 0 with fewer than two samples.</summary>
    static double Slope(IReadOnlyList<SoakSample> s)
    {
        if (s.Count < 2) return 0;
        double mx = s.Average(v => (double)v.Step), my = s.Average(v => (double)v.RssBytes);
        double sxy = s.Sum(v => (v.Step - mx) * (v.RssBytes - my)), sxx = s.Sum(v => (v.Step - mx) * (v.Step - mx));
        return sxx > 0 ? sxy / sxx : 0;
    }
}
