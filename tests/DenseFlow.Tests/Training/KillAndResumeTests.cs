using System.Diagnostics;
using DenseFlow.Model;
using DenseFlow.Tests.Cli;
using DenseFlow.Training;
using DenseFlow.Training.Logging;
using TorchSharp;

namespace DenseFlow.Tests.Training;

/// <summary>SIGKILL a real `denseflow train` process between checkpoints, resume, and compare with an uninterrupted run.</summary>
public class KillAndResumeTests : IDisposable
{
    readonly string _dir = Path.Combine(Path.GetTempPath(), "denseflow-kill-" + Guid.NewGuid().ToString("N"));

    public KillAndResumeTests() { Directory.CreateDirectory(_dir); }

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, true);
    }

    string[] TrainArgs(string config, string run) => new[]
    {
        "train", "--dataset", "fashion-mnist", "--config", config, "--max-steps", "16", "--batch", "8", "--train-limit", "128",
        "--eval-images", "8", "--samples", "0", "--warmup", "2", "--checkpoint-every", "3", "--seed", "11", "--out", run,
    };

    [Fact]
    public void KilledRunResumesBitForBit()
    {
        string config = Path.Combine(_dir, "tiny.json");
        File.WriteAllText(config, TinyModels.FashionMnist.ToJson());
        string straight = Path.Combine(_dir, "straight"), killed = Path.Combine(_dir, "killed");

        var (code, o, e) = CliTests.Run(TrainArgs(config, straight));
        Assert.True(code == 0, o + e);

        // A child process trains until its first checkpoint lands, then is killed with SIGKILL.
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "denseflow.dll"));
        foreach (var arg in TrainArgs(config, killed)) psi.ArgumentList.Add(arg);
        using (var child = Process.Start(psi)!)
        {
            child.OutputDataReceived += (_, _) => { };
            child.ErrorDataReceived += (_, _) => { };
            child.BeginOutputReadLine();
            child.BeginErrorReadLine();
            string ckpt = Path.Combine(killed, Checkpoint.FileName);
            var deadline = DateTime.UtcNow.AddMinutes(3);
            while (!File.Exists(ckpt) && !child.HasExited && DateTime.UtcNow < deadline) Thread.Sleep(20);
            Assert.True(File.Exists(ckpt), "the child wrote no checkpoint");
            if (!child.HasExited) child.Kill(entireProcessTree: true); // SIGKILL
            child.WaitForExit();
        }
        var state = Checkpoint.ReadState(Path.Combine(killed, Checkpoint.FileName));
        Assert.True(state.Step % 3 == 0 && state.Step > 0, $"checkpoint at step {state.Step}");

        var (rc, ro, re) = CliTests.Run("train", "--resume", killed);
        Assert.True(rc == 0, ro + re);

        using var a = new RunDirectory(straight).LoadModel();
        using var b = new RunDirectory(killed).LoadModel();
        var sb = b.state_dict();
        foreach (var (name, t) in a.state_dict()) Assert.True(t.eq(sb[name]).all().item<bool>(), $"{name} differs");
        var la = MetricsLog.Series(MetricsLog.Read(Path.Combine(straight, "metrics.jsonl")), "train_bpd");
        var lb = MetricsLog.Series(MetricsLog.Read(Path.Combine(killed, "metrics.jsonl")), "train_bpd");
        Assert.Equal(16, la.Count);
        Assert.Equal(la, lb);
    }
}
