using System.Diagnostics;
using DenseFlow.Model;
using DenseFlow.Tests.Cli;
using DenseFlow.Tests.Training;
using DenseFlow.Training;
using DenseFlow.Training.Logging;
using TorchSharp;
using static TorchSharp.torch;

namespace DenseFlow.Tests.Distributed;

/// <summary>
/// `mpiexec -n 2 denseflow train|eval|score` against one process: the same global batch and seed must give
/// the same run (float64, ≤ 1e-10), a NaN on one rank is skipped by all, a killed rank ends the job.
/// </summary>
public class DataParallelTests : IDisposable
{
    readonly string _dir = Path.Combine(Path.GetTempPath(), "denseflow-mpi-" + Guid.NewGuid().ToString("N"));
    readonly string _config;

    public DataParallelTests()
    {
        Directory.CreateDirectory(_dir);
        _config = Path.Combine(_dir, "tiny.json");
        File.WriteAllText(_config, TinyModels.FashionMnist.ToJson());
    }

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, true);
    }

    // Batch 5 over 2 ranks: 3 + 2 images, so the unequal split is exercised at every step.
    string[] TrainArgs(string run, int steps, params string[] extra) => new[]
    {
        "train", "--dataset", "fashion-mnist", "--config", _config, "--max-steps", steps.ToString(), "--batch", "5", "--train-limit", "40",
        "--eval-images", "4", "--samples", "0", "--warmup", "2", "--seed", "7", "--double", "--augment", "flip-shift", "--out", run,
    }.Concat(extra).ToArray();

    static (DenseFlowModel Model, Adamax Optimizer, TrainingState State) LoadCheckpoint(string run)
    {
        string path = Path.Combine(run, Checkpoint.FileName);
        var model = new DenseFlowModel(Checkpoint.ReadConfig(path));
        model.to(ScalarType.Float64);
        var optimizer = new Adamax(model.named_parameters().Where(p => p.parameter.requires_grad).Select(p => (p.name, (Tensor)p.parameter)));
        var state = Checkpoint.Load(path, model, optimizer);
        return (model, optimizer, state);
    }

    /// <summary>Every parameter and buffer (ActNorm, BatchNorm running statistics and counts) and every optimiser tensor within <paramref name="tolerance"/>.</summary>
    static void AssertSameCheckpoint(string expectedRun, string actualRun, double tolerance)
    {
        var (ma, oa, sa) = LoadCheckpoint(expectedRun);
        var (mb, ob, sb) = LoadCheckpoint(actualRun);
        using var _a = ma; using var _b = mb; using var _oa = oa; using var _ob = ob;
        Assert.Equal(sa.Step, sb.Step);
        Assert.Equal(sa.NoiseState, sb.NoiseState);
        var stateB = mb.state_dict();
        int batchNormBuffers = 0;
        foreach (var (name, t) in ma.state_dict())
        {
            double diff = (t.to(ScalarType.Float64) - stateB[name].to(ScalarType.Float64)).abs().max().item<double>();
            Assert.True(diff <= tolerance, $"{name}: differs by {diff:E3}");
            if (name.EndsWith("running_var") || name.EndsWith("num_batches_tracked")) batchNormBuffers++;
        }
        Assert.True(batchNormBuffers > 0, "the tiny model has BatchNorm buffers to compare");
        var optB = ob.State().ToDictionary(e => e.Name, e => e.Value);
        var optA = oa.State().ToList();
        Assert.NotEmpty(optA);
        foreach (var (name, t) in optA)
        {
            double diff = (t.to(ScalarType.Float64) - optB[name].to(ScalarType.Float64)).abs().max().item<double>();
            Assert.True(diff <= tolerance, $"optimiser {name}: differs by {diff:E3}");
        }
    }

    static List<double> TrainBpd(string run) => MetricsLog.Series(MetricsLog.Read(Path.Combine(run, "metrics.jsonl")), "train_bpd").Select(p => p.Y).ToList();

    [MpiFact]
    public void TwoRanksTrainAsOneProcessAndEvaluateIdentically()
    {
        string single = Path.Combine(_dir, "single"), two = Path.Combine(_dir, "two");
        var (c1, o1, e1) = CliTests.Run(TrainArgs(single, 4));
        Assert.True(c1 == 0, o1 + e1);
        // Recomputation in the 2-rank run: the synchronised BatchNorm inside the recomputed backward must agree too.
        var (c2, o2, e2) = Mpi.Run(2, TrainArgs(two, 4, "--recompute", "on"));
        Assert.True(c2 == 0, o2 + e2);

        var bpd1 = TrainBpd(single);
        var bpd2 = TrainBpd(two);
        Assert.Equal(4, bpd1.Count);
        Assert.Equal(4, bpd2.Count);
        for (int i = 0; i < 4; i++) Assert.True(Math.Abs(bpd1[i] - bpd2[i]) <= 1e-10, $"step {i + 1}: bpd {bpd1[i]:R} vs {bpd2[i]:R}");
        AssertSameCheckpoint(single, two, 1e-10);
        Assert.Contains("\"world_size\": 2", File.ReadAllText(Path.Combine(two, "run.json")));

        // Sharded evaluation of one run: ELBO and IWBO figures, and every per-image score, identical to one process.
        string[] eval = ["eval", "--run", single, "--k", "3", "--draws-per-pass", "2", "--batch", "3", "--limit", "7", "--seed", "4", "--json"];
        var (ce, oe, ee) = CliTests.Run(eval);
        Assert.True(ce == 0, oe + ee);
        var (cm, om, em) = Mpi.Run(2, eval);
        Assert.True(cm == 0, om + em);
        string Figures(string json) => string.Join(",", System.Text.Json.JsonDocument.Parse(json).RootElement.EnumerateObject()
            .Where(p => p.Name is "elbo_bpd" or "iwbo_bpd" or "images").Select(p => p.Value.GetRawText()));
        Assert.Equal(Figures(oe), Figures(om));
        string csv1 = Path.Combine(_dir, "one.csv"), csv2 = Path.Combine(_dir, "two.csv");
        var (cs, os, es) = CliTests.Run("score", "--run", single, "--limit", "5", "--batch", "2", "--out", csv1);
        Assert.True(cs == 0, os + es);
        var (ct, ot, et) = Mpi.Run(2, "score", "--run", single, "--limit", "5", "--batch", "2", "--out", csv2);
        Assert.True(ct == 0, ot + et);
        Assert.Equal(File.ReadAllText(csv1), File.ReadAllText(csv2));
    }

    [MpiFact]
    public void ANonFiniteLossOnOneRankIsSkippedOnAll()
    {
        string single = Path.Combine(_dir, "single"), two = Path.Combine(_dir, "two");
        // The same step skipped in one process (its only rank, 0) and in the job (rank 1 alone sees the NaN).
        var envSingle = new Dictionary<string, string> { ["DENSEFLOW_TEST_NAN_STEP"] = "0:1" };
        var envTwo = new Dictionary<string, string> { ["DENSEFLOW_TEST_NAN_STEP"] = "1:1" };
        var (c1, o1, e1) = Mpi.Run(1, envSingle, TrainArgs(single, 3));
        Assert.True(c1 == 0, o1 + e1);
        var (c2, o2, e2) = Mpi.Run(2, envTwo, TrainArgs(two, 3));
        Assert.True(c2 == 0, o2 + e2);
        Assert.Contains("step 1: non-finite loss, update skipped", o2);
        Assert.Equal(1, Checkpoint.ReadState(Path.Combine(two, Checkpoint.FileName)).BadStepsTotal);
        Assert.Equal(2, TrainBpd(two).Count);
        AssertSameCheckpoint(single, two, 1e-10);
    }

    [MpiFact]
    public void KillingOneRankEndsTheJobAndTheCheckpointResumes()
    {
        string run = Path.Combine(_dir, "killed");
        string marker = Guid.NewGuid().ToString("N");
        using var job = Mpi.Start(2, new Dictionary<string, string> { ["DENSEFLOW_TEST_MARKER"] = marker },
            TrainArgs(run, 100000, "--checkpoint-every", "2"));
        var output = job.StandardOutput.ReadToEndAsync();
        var error = job.StandardError.ReadToEndAsync();
        string ckpt = Path.Combine(run, Checkpoint.FileName);
        var deadline = DateTime.UtcNow.AddMinutes(1);
        while (!File.Exists(ckpt) && !job.HasExited && DateTime.UtcNow < deadline) Thread.Sleep(20);
        Assert.True(File.Exists(ckpt), "the job wrote no checkpoint: " + (job.HasExited ? error.Result : "still running"));
        int rank1 = RankProcess(marker, 1);
        Process.GetProcessById(rank1).Kill(); // SIGKILL
        bool ended = job.WaitForExit(TimeSpan.FromSeconds(60));
        if (!ended) job.Kill(entireProcessTree: true);
        Assert.True(ended, "the job did not end within 60 s of a rank being killed");
        Assert.NotEqual(0, job.ExitCode);

        var (_, _, state) = LoadCheckpoint(run); // loads: the checkpoint is intact
        Assert.True(state.Step > 0 && state.Step % 2 == 0, $"checkpoint at step {state.Step}");
        // Resume with a different N (one process), then with 2 ranks again: run.json follows.
        var (c1, o1, e1) = CliTests.Run("train", "--resume", run, "--max-steps", (state.Step + 1).ToString());
        Assert.True(c1 == 0, o1 + e1);
        Assert.Contains($"continuing at step {state.Step}", o1);
        Assert.Contains("\"world_size\": 1", File.ReadAllText(Path.Combine(run, "run.json")));
        var (code, o, e) = Mpi.Run(2, "train", "--resume", run, "--max-steps", (state.Step + 2).ToString());
        Assert.True(code == 0, o + e);
        Assert.Contains($"continuing at step {state.Step + 1}", o);
        Assert.Equal(state.Step + 2, Checkpoint.ReadState(ckpt).Step);
        Assert.Contains("\"world_size\": 2", File.ReadAllText(Path.Combine(run, "run.json")));
    }

    /// <summary>The pid of rank <paramref name="rank"/> of the job started with <paramref name="marker"/> in its environment.</summary>
    static int RankProcess(string marker, int rank)
    {
        foreach (var dir in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid)) continue;
            string environ;
            try { environ = File.ReadAllText(Path.Combine(dir, "environ")); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { continue; }
            var vars = environ.Split('\0');
            if (vars.Contains($"DENSEFLOW_TEST_MARKER={marker}") && vars.Contains($"PMI_RANK={rank}") && File.ReadAllText(Path.Combine(dir, "comm")).Trim() == "dotnet")
                return pid;
        }
        throw new InvalidOperationException($"no process of rank {rank} found");
    }
}
