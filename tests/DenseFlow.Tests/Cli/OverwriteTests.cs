using System.Text.Json;
using DenseFlow.Model;
using DenseFlow.Tests.IO;
using DenseFlow.Training;

namespace DenseFlow.Tests.Cli;

/// <summary>`train --out` on an existing run: refused without --overwrite (nothing touched), replaced with it.</summary>
public class OverwriteTests : IClassFixture<TinyRun>, IDisposable
{
    readonly TinyRun _tiny;
    readonly string _dir = Path.Combine(Path.GetTempPath(), "denseflow-overwrite-" + Guid.NewGuid().ToString("N"));

    public OverwriteTests(TinyRun tiny)
    {
        _tiny = tiny;
        Directory.CreateDirectory(_dir);
    }

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, true);
    }

    [Fact]
    public void TrainRefusesAnExistingRunWithoutOverwriteAndReplacesItWith()
    {
        // The old run keeps a weight average (model-ema.dfn) and a sample grid; the new one has neither.
        string run = Path.Combine(_dir, "run");
        var (code, output, err) = CliTests.Run(_tiny.TrainArgs(run, "--max-steps", "6", "--ema", "0.9", "--seed", "1").Append("--samples").Append("2").ToArray());
        Assert.True(code == 0, output + err);
        Assert.True(File.Exists(Path.Combine(run, "model-ema.dfn")));
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(run, "samples")));
        var before = TinyRun.Snapshot(run);

        var (again, _, againErr) = CliTests.Run(_tiny.TrainArgs(run, "--max-steps", "4", "--seed", "2"));
        Assert.Equal(2, again);
        Assert.Single(againErr.Trim().Split('\n'));
        Assert.Contains($"--out {run}: already holds a run", againErr);
        TinyRun.AssertSameFiles(before, run);

        var (replaced, ro, re) = CliTests.Run(_tiny.TrainArgs(run, "--max-steps", "4", "--seed", "2", "--overwrite"));
        Assert.True(replaced == 0, ro + re);
        var dir = new RunDirectory(run);
        var options = TrainingOptions.Load(dir.OptionsFile);
        Assert.Equal(2, options.Seed);
        Assert.Equal(4, options.MaxSteps);
        Assert.Null(options.EmaDecay);
        Assert.Equal(4, Checkpoint.ReadState(dir.CheckpointFile).Step);
        // Only the new run's metrics: its steps 1..4 once each and its test bound of the live weights,
        // nothing of the old run's 6 steps or of its weight average.
        var records = File.ReadAllLines(dir.MetricsFile).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        var trainSteps = records.Where(r => r.TryGetProperty("train_bpd", out _)).Select(r => r.GetProperty("step").GetInt64());
        Assert.Equal(new long[] { 1, 2, 3, 4 }, trainSteps);
        var test = Assert.Single(records, r => r.TryGetProperty("test_bpd", out _));
        Assert.Equal(4, test.GetProperty("step").GetInt64());
        Assert.Equal("live", test.GetProperty("weights").GetString());
        // The old run's files the new run does not write are gone: its weight average would otherwise be what
        // eval, sample and score load by default (--weights auto), and its samples would pass for the new run's.
        Assert.False(File.Exists(dir.AveragedModelFile), "the old run's model-ema.dfn survived --overwrite");
        Assert.False(dir.LoadsAverage(RunWeights.Auto));
        Assert.False(Directory.Exists(dir.SamplesDir) && Directory.GetFiles(dir.SamplesDir).Length > 0);
        Assert.NotEqual(before["model.dfn"], File.ReadAllBytes(dir.ModelFile));
    }

    [Fact]
    public void ATrainStartThatFailsAfterTheDataOpened_LeavesTheOldRunUntouched_EvenWithOverwrite()
    {
        // --batch larger than the training set is found when the trainer is built, after the data and the model:
        // the run that --overwrite would replace must still be whole.
        string run = _tiny.CopyTo(Path.Combine(_dir, "run"));
        var before = TinyRun.Snapshot(run);
        var (code, output, err) = CliTests.Run("train", "--dataset", "fashion-mnist", "--config", _tiny.Config, "--train-limit", "8",
            "--batch", "16", "--max-steps", "1", "--samples", "0", "--out", run, "--overwrite");
        Assert.True(code == 1, output + err);
        Assert.Single(err.Trim().Split('\n'));
        Assert.Contains("--batch 16 is larger than the 8 training images", err);
        TinyRun.AssertSameFiles(before, run);

        // The same for a new directory: nothing is left behind that --out would then refuse as a run.
        string fresh = Path.Combine(_dir, "fresh");
        var (code2, _, err2) = CliTests.Run("train", "--dataset", "fashion-mnist", "--config", _tiny.Config, "--train-limit", "8",
            "--batch", "16", "--max-steps", "1", "--samples", "0", "--out", fresh);
        Assert.True(code2 == 1, err2);
        Assert.False(new RunDirectory(fresh).HasRun, "a failed start left a run behind");
    }

    [Fact]
    public void ResumeRefusesWhatItCannotContinue_AndTouchesNothing()
    {
        string run = _tiny.CopyTo(Path.Combine(_dir, "run"));
        var before = TinyRun.Snapshot(run);
        var (c1, _, e1) = CliTests.Run("train", "--resume", run, "--out", Path.Combine(_dir, "other"));
        Assert.Equal(2, c1);
        Assert.Single(e1.Trim().Split('\n'));
        Assert.Contains("drop --out", e1);
        TinyRun.AssertSameFiles(before, run);
        Assert.False(Directory.Exists(Path.Combine(_dir, "other")));

        string empty = Directory.CreateDirectory(Path.Combine(_dir, "empty")).FullName;
        var (c2, _, e2) = CliTests.Run("train", "--resume", empty);
        Assert.Equal(2, c2);
        Assert.Single(e2.Trim().Split('\n'));
        Assert.Contains($"--resume {empty}: no checkpoint.bin there", e2);
        Assert.Empty(Directory.GetFileSystemEntries(empty));

        var (c3, _, e3) = CliTests.Run("finetune", "--run", run);
        Assert.Equal(2, c3);
        Assert.Contains("give --epochs, --minutes or --max-steps", e3);
        TinyRun.AssertSameFiles(before, run);
    }

    [Fact]
    public void ImportOverwriteReplacesATrainedRunEntirely()
    {
        string run = Path.Combine(_dir, "run");
        var (code, output, err) = CliTests.Run(_tiny.TrainArgs(run, "--max-steps", "4", "--ema", "0.9"));
        Assert.True(code == 0, output + err);
        string npz = Path.Combine(FixturePaths.OfficialSmall, "weights.npz");
        string config = Path.Combine(FixturePaths.OfficialSmall, "config.json");
        var before = TinyRun.Snapshot(run);

        var (refused, _, refusedErr) = CliTests.Run("import", npz, "--config", config, "--out", run);
        Assert.Equal(2, refused);
        Assert.Single(refusedErr.Trim().Split('\n'));
        Assert.Contains(run, refusedErr);
        TinyRun.AssertSameFiles(before, run);

        var (ic, io, ie) = CliTests.Run("import", npz, "--config", config, "--out", run, "--overwrite");
        Assert.True(ic == 0, io + ie);
        // What eval, sample and score load by default (--weights auto) is the imported model, not the old
        // run's weight average or checkpoint; and no old checkpoint is left for `train --resume` to continue.
        var dir = new RunDirectory(run);
        using var loaded = dir.LoadModel(weights: RunWeights.Auto);
        using var expected = new DenseFlowModel(loaded.Config);
        ReferenceWeights.Load(expected, npz);
        var want = expected.state_dict();
        var got = loaded.state_dict();
        Assert.Equal(want.Keys.Order(), got.Keys.Order());
        foreach (var (name, t) in want) Assert.True(t.shape.SequenceEqual(got[name].shape) && t.eq(got[name]).all().item<bool>(), name);
        foreach (var stale in new[] { dir.CheckpointFile, dir.AveragedModelFile, dir.OptionsFile, dir.MetricsFile })
            Assert.False(File.Exists(stale), $"{Path.GetFileName(stale)} of the replaced run survived import --overwrite");
    }
}
