using System.Text.Json;
using DenseFlow.Tests.Training;

namespace DenseFlow.Tests.Cli;

/// <summary>`train --ema` and `--weights` on eval: the average is used by default and refused when absent.</summary>
public class WeightsOptionTests : IDisposable
{
    readonly string _dir = Path.Combine(Path.GetTempPath(), "denseflow-weights-" + Guid.NewGuid().ToString("N"));

    public WeightsOptionTests() { Directory.CreateDirectory(_dir); }

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, true);
    }

    string Train(string name, params string[] extra)
    {
        string config = Path.Combine(_dir, "tiny.json");
        File.WriteAllText(config, TinyModels.FashionMnist.ToJson());
        string run = Path.Combine(_dir, name);
        var (code, output, err) = CliTests.Run(new[] { "train", "--dataset", "fashion-mnist", "--config", config, "--max-steps", "6", "--batch", "16",
            "--lr", "5e-3", "--train-limit", "96", "--eval-images", "16", "--warmup", "2", "--samples", "0", "--out", run }.Concat(extra).ToArray());
        Assert.True(code == 0, output + err);
        return run;
    }

    static double EvalBpd(string run, string weights)
    {
        var (code, json, err) = CliTests.Run("eval", "--run", run, "--limit", "8", "--json", "--weights", weights);
        Assert.True(code == 0, json + err);
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.GetProperty("bpd").GetDouble();
    }

    [Fact]
    public void Eval_uses_the_average_by_default_and_live_weights_on_request()
    {
        string run = Train("ema", "--ema", "0.9");
        Assert.True(File.Exists(Path.Combine(run, "model-ema.dfn")));
        using (var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "run.json"))))
            Assert.Equal(0.9, doc.RootElement.GetProperty("ema_decay").GetDouble());
        double auto = EvalBpd(run, "auto"), ema = EvalBpd(run, "ema"), live = EvalBpd(run, "live");
        Assert.Equal(ema, auto);
        Assert.NotEqual(ema, live);
    }

    /// <summary>The bpd column of `score` (one value per image) for the weights asked for.</summary>
    string[] ScoreBpd(string run, string weights)
    {
        string csv = Path.Combine(_dir, $"score-{weights}.csv");
        var (code, output, err) = CliTests.Run("score", "--run", run, "--limit", "6", "--method", "bpd", "--weights", weights, "--out", csv);
        Assert.True(code == 0, output + err);
        return File.ReadAllLines(csv).Skip(1).Select(l => l.Split(',')[2]).ToArray();
    }

    static double OodMeanBpd(string run, string weights, string json)
    {
        var (code, output, err) = CliTests.Run("ood", "--run", run, "--ood-synthetic", "noise", "--limit", "8", "--methods", "bpd",
            "--weights", weights, "--out", json + ".d", "--json", json);
        Assert.True(code == 0, output + err);
        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        return doc.RootElement.GetProperty("in_distribution").GetProperty("mean_bpd").GetDouble();
    }

    [Fact]
    public void Score_and_ood_load_the_weights_asked_for_like_eval()
    {
        // They once loaded the live weights whatever --weights said, so a run trained with --ema was scored with other weights than eval's.
        string run = Train("ema-score", "--ema", "0.9");
        string[] auto = ScoreBpd(run, "auto"), ema = ScoreBpd(run, "ema"), live = ScoreBpd(run, "live");
        Assert.Equal(ema, auto);
        Assert.NotEqual(ema, live);
        double oodAuto = OodMeanBpd(run, "auto", Path.Combine(_dir, "auto.json")), oodLive = OodMeanBpd(run, "live", Path.Combine(_dir, "live.json"));
        Assert.NotEqual(oodAuto, oodLive);
    }

    [Fact]
    public void Ema_weights_of_a_run_without_an_average_fail_in_one_line_and_a_bad_decay_is_a_usage_error()
    {
        string run = Train("plain");
        var (code, output, err) = CliTests.Run("eval", "--run", run, "--limit", "4", "--weights", "ema");
        Assert.Equal(1, code);
        Assert.Contains("trained without --ema", err);
        Assert.Single(err.Trim().Split('\n'));

        var (bad, _, badErr) = CliTests.Run("train", "--dataset", "fashion-mnist", "--ema", "1", "--max-steps", "1", "--out", Path.Combine(_dir, "never"));
        Assert.Equal(2, bad);
        Assert.Contains("--ema must be a decay in (0, 1)", badErr);
        Assert.False(Directory.Exists(Path.Combine(_dir, "never")));

        var (badW, _, badWErr) = CliTests.Run("eval", "--run", run, "--weights", "best");
        Assert.Equal(2, badW);
        Assert.Contains("--weights must be one of auto, live, ema", badWErr);
    }
}
