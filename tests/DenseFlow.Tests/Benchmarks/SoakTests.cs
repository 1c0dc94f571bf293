using System.Text.Json;
using DenseFlow.Benchmarks;
using DenseFlow.Tests.Cli;
using DenseFlow.Tests.Training;

namespace DenseFlow.Tests.Benchmarks;

/// <summary>The long-run check: a real training run (epochs, sample grids, checkpoints) must not leak file handles.</summary>
public class SoakTests : IDisposable
{
    readonly string _dir = Path.Combine(Path.GetTempPath(), "denseflow-soak-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, true);
    }

    [Fact]
    public void Training_through_many_epochs_and_checkpoints_leaves_no_file_open()
    {
        // 64 images at batch 8: an epoch (test bound, sample grid, curve) every 8 steps, a checkpoint every 5.
        var o = new SoakOptions
        {
            Config = TinyModels.FashionMnist, Steps = 60, BatchSize = 8, TrainImages = 64, EvalImages = 16,
            CheckpointEverySteps = 5, SampleEvery = 1, RunDir = _dir,
        };
        var report = Soak.Run(o);
        Assert.Equal(60, report.Steps);
        Assert.Equal("fashion-mnist", report.Data);
        Assert.True(report.Epochs >= 7, $"{report.Epochs} epochs");
        Assert.Equal(13, report.Checkpoints); // written on disk: every 5 of 60 steps, and once at the end
        Assert.Equal(62, report.Samples.Count); // step 0, steps 1..60, after the run
        Assert.True(report.OpenFilesSettled > 0, "open files could not be counted");
        Assert.True(report.SettledStep <= 20, $"settled only at step {report.SettledStep}");
        // After settling, 5 more epochs and 8 more checkpoints: a handle leaked per file written would show.
        Assert.True(report.OpenFilesEnd <= report.OpenFilesSettled,
            $"open files grew from {report.OpenFilesSettled} (step {report.SettledStep}) to {report.OpenFilesEnd} at the end");
        Assert.True(report.NoFileLeak, $"open files peaked at {report.OpenFilesMax} (settled {report.OpenFilesSettled})");
        Assert.True(File.Exists(Path.Combine(_dir, "checkpoint.bin")));
    }

    [Fact]
    public void The_long_soak_configuration_in_bench_is_the_tiny_test_model()
    {
        var repo = new DirectoryInfo(AppContext.BaseDirectory);
        while (repo is not null && !File.Exists(Path.Combine(repo.FullName, "DenseFlow.slnx"))) repo = repo.Parent;
        Assert.NotNull(repo);
        var config = DenseFlow.Model.DenseFlowConfig.Load(Path.Combine(repo.FullName, "bench", "configs", "soak-tiny.json"));
        config.Plan();
        Assert.Equal(TinyModels.FashionMnist.ToJson(), config.ToJson());
    }

    [Fact]
    public void Soak_command_writes_json_and_csv_and_refuses_bad_values()
    {
        Directory.CreateDirectory(_dir);
        string config = Path.Combine(_dir, "tiny.json"), json = Path.Combine(_dir, "soak.json"), csv = Path.Combine(_dir, "soak.csv");
        File.WriteAllText(config, TinyModels.FashionMnist.ToJson());
        var (code, output, err) = CliTests.Run("soak", "--config", config, "--steps", "12", "--batch", "8", "--train-images", "32",
            "--sample-every", "3", "--checkpoint-every", "4", "--json", json, "--csv", csv);
        // 0 = flat and no leak, 1 = not flat (possible on 12 steps); anything else is a failure.
        Assert.True(code is 0 or 1, $"exit {code}: {err}");
        Assert.Contains("open files", output);
        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        var root = doc.RootElement;
        Assert.Equal(12, root.GetProperty("steps").GetInt64());
        Assert.True(root.GetProperty("rss_settled_bytes").GetInt64() > 0);
        Assert.True(root.GetProperty("open_files_end").GetInt32() > 0);
        Assert.Equal(root.GetProperty("samples").GetArrayLength() + 1, File.ReadAllLines(csv).Length); // header + one line a sample
        Assert.Equal(code == 0, root.GetProperty("rss_flat").GetBoolean() && root.GetProperty("no_file_leak").GetBoolean());

        var (bad, _, badErr) = CliTests.Run("soak", "--config", config, "--steps", "0");
        Assert.Equal(2, bad);
        Assert.Contains("--steps must be a positive integer", badErr);
        var (notEmpty, _, notEmptyErr) = CliTests.Run("soak", "--config", config, "--out", _dir);
        Assert.Equal(2, notEmpty);
        Assert.Contains("is not empty", notEmptyErr);
    }
}
