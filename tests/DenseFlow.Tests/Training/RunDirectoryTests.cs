using DenseFlow.Model;
using DenseFlow.Tests.Cli;
using DenseFlow.Training;

namespace DenseFlow.Tests.Training;

/// <summary>Run directories: creating one refuses or replaces an old run, forking copies what a fine-tuning phase needs.</summary>
public class RunDirectoryTests : IDisposable
{
    readonly string _dir = Path.Combine(Path.GetTempPath(), "denseflow-rundir-" + Guid.NewGuid().ToString("N"));

    public RunDirectoryTests() { Directory.CreateDirectory(_dir); }

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, true);
    }

    /// <summary>A directory that looks like a finished run (every file a run has) plus a file of the user's.</summary>
    RunDirectory FakeRun(string name)
    {
        var run = new RunDirectory(Path.Combine(_dir, name));
        Directory.CreateDirectory(run.SamplesDir);
        Directory.CreateDirectory(run.TensorBoardDir);
        foreach (var f in new[] { run.CheckpointFile, run.ModelFile, run.AveragedModelFile, run.MetricsFile, run.CurveFile, run.OptionsFile, run.ConfigFile,
                                  Path.Combine(run.SamplesDir, "epoch_000.png"), Path.Combine(run.TensorBoardDir, "events") })
            File.WriteAllText(f, "old " + Path.GetFileName(f));
        File.WriteAllText(Path.Combine(run.Path, "notes.txt"), "mine");
        return run;
    }

    static Dictionary<string, string> Contents(string dir) =>
        Directory.GetFiles(dir, "*", SearchOption.AllDirectories).ToDictionary(f => Path.GetRelativePath(dir, f), File.ReadAllText);

    [Fact]
    public void CreateRefusesAnExistingRunAndLeavesItUntouched()
    {
        var old = FakeRun("run");
        var before = Contents(old.Path);
        var e = Assert.Throws<RunExistsException>(() => RunDirectory.Create(old.Path, TinyModels.FashionMnist, new TrainingOptions()));
        Assert.Contains(old.Path, e.Message);
        Assert.Equal(before, Contents(old.Path));
        Assert.Throws<RunExistsException>(() => old.EnsureNoRun());
        old.EnsureNoRun(overwrite: true); // no exception
    }

    [Fact]
    public void CreateWithOverwriteReplacesTheRunAndKeepsOtherFiles()
    {
        var old = FakeRun("run");
        var options = new TrainingOptions { Dataset = "mnist", Seed = 7, MaxSteps = 12 };
        var run = RunDirectory.Create(old.Path, TinyModels.FashionMnist, options, overwrite: true);

        Assert.Equal(new[] { "config.json", "notes.txt", "run.json" }, Contents(run.Path).Keys.Order().ToArray());
        Assert.Equal("mine", File.ReadAllText(Path.Combine(run.Path, "notes.txt")));
        Assert.False(Directory.Exists(run.SamplesDir));
        Assert.False(Directory.Exists(run.TensorBoardDir));
        Assert.Equal(TinyModels.FashionMnist.ToJson(), DenseFlowConfig.Load(run.ConfigFile).ToJson());
        Assert.Equal(options.ToJson(), TrainingOptions.Load(run.OptionsFile).ToJson());
        // No temporary file is left behind by the atomic writes.
        Assert.Empty(Directory.GetFiles(run.Path, "*.tmp"));
    }

    [Fact]
    public void CreateMakesTheDirectoryAndSkipsRunJsonForAnImportedModel()
    {
        string path = Path.Combine(_dir, "a", "b");
        var run = RunDirectory.Create(path, TinyModels.FashionMnist, options: null);
        Assert.True(File.Exists(run.ConfigFile));
        Assert.False(File.Exists(run.OptionsFile));
    }

    [Fact]
    public void ForkCopiesCheckpointConfigAndMetricsAndRefusesAnExistingRun()
    {
        var source = FakeRun("source");
        var fork = source.Fork(Path.Combine(_dir, "fork"));
        Assert.Equal(new[] { "checkpoint.bin", "config.json", "metrics.jsonl" }, Contents(fork.Path).Keys.Order().ToArray());
        foreach (var (s, t) in new[] { (source.CheckpointFile, fork.CheckpointFile), (source.ConfigFile, fork.ConfigFile), (source.MetricsFile, fork.MetricsFile) })
            Assert.Equal(File.ReadAllBytes(s), File.ReadAllBytes(t));

        var other = FakeRun("other");
        var before = Contents(other.Path);
        Assert.Throws<RunExistsException>(() => source.Fork(other.Path));
        Assert.Equal(before, Contents(other.Path));
    }

    [Fact]
    public void ForkWithoutACheckpointNamesTheSource()
    {
        var source = RunDirectory.Create(Path.Combine(_dir, "fresh"), TinyModels.FashionMnist, new TrainingOptions());
        var e = Assert.Throws<TrainingException>(() => source.Fork(Path.Combine(_dir, "fork")));
        Assert.Contains(source.Path, e.Message);
        Assert.False(Directory.Exists(Path.Combine(_dir, "fork")));
    }

    [Fact]
    public void FineTuneBudgetCountsFromWhereTheRunStands()
    {
        var state = new TrainingState { Epoch = 7, Step = 1000, ElapsedSeconds = 600 };
        var o = RunDirectory.FineTuneBudget(new TrainingOptions { Epochs = 3, Minutes = 5, MaxSteps = 50 }, state);
        Assert.True(o.FineTune);
        Assert.Equal(10, o.Epochs);
        Assert.Equal(15.0, o.Minutes);
        Assert.Equal(1050L, o.MaxSteps);
        var only = RunDirectory.FineTuneBudget(new TrainingOptions { Epochs = null, Minutes = null, MaxSteps = 4 }, state);
        Assert.Null(only.Epochs);
        Assert.Null(only.Minutes);
        Assert.Equal(1004L, only.MaxSteps);
    }

    [Fact]
    public void FinetuneIntoANewDirectoryContinuesTheRunAndLeavesTheSource()
    {
        string config = Path.Combine(_dir, "tiny.json");
        File.WriteAllText(config, TinyModels.FashionMnist.ToJson());
        string source = Path.Combine(_dir, "run"), fork = Path.Combine(_dir, "tuned");
        var (code, o, e) = CliTests.Run("train", "--dataset", "fashion-mnist", "--config", config, "--max-steps", "6", "--batch", "8", "--train-limit", "64",
            "--eval-images", "8", "--samples", "0", "--warmup", "2", "--out", source);
        Assert.True(code == 0, o + e);
        byte[] checkpoint = File.ReadAllBytes(Path.Combine(source, Checkpoint.FileName));

        var (fc, fo, fe) = CliTests.Run("finetune", "--run", source, "--max-steps", "3", "--out", fork);
        Assert.True(fc == 0, fo + fe);
        Assert.Equal(9, Checkpoint.ReadState(Path.Combine(fork, Checkpoint.FileName)).Step);
        var options = TrainingOptions.Load(Path.Combine(fork, "run.json"));
        Assert.True(options.FineTune);
        Assert.Equal(9L, options.MaxSteps);
        Assert.Equal(checkpoint, File.ReadAllBytes(Path.Combine(source, Checkpoint.FileName)));

        // A second fine-tune into the same directory is refused as a usage error.
        var (again, _, againErr) = CliTests.Run("finetune", "--run", source, "--max-steps", "3", "--out", fork);
        Assert.Equal(2, again);
        Assert.Contains("already holds a run", againErr);
    }
}
