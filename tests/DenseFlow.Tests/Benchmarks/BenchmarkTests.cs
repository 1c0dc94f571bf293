using System.Text.Json;
using DenseFlow.Benchmarks;
using DenseFlow.Model;
using DenseFlow.Nets;

namespace DenseFlow.Tests.Benchmarks;

public sealed class BenchmarkTests
{
    static DenseFlowConfig Tiny => new()
    {
        InputShape = [1, 8, 8], UnitsPerBlock = [2, 1], ModulesPerUnit = [1, 1], GrowthRate = 2, CouplingWidth = [8, 8], Landmarks = [4, 4],
        DenseDepth = 2, DenseGrowth = 8, DequantSteps = 1, DequantWidth = 8, DequantContextChannels = 8, DequantDepth = 1, DequantGrowth = 8,
        DequantContextDepth = 1, DequantContextGrowth = 4,
    };

    static readonly string[] Required =
    [
        "calibration_fwd_gflops", "calibration_fwd_bwd_gflops", "train_b32_images_per_s", "train_b64_images_per_s",
        "sample64_images_per_s", "eval64_images_per_s", "iwbo_k1000_seconds_per_image", "train_b32_peak_rss_bytes", "train_b64_peak_rss_bytes",
    ];

    [Fact]
    public void Run_on_a_tiny_model_reports_every_figure()
    {
        var options = new BenchmarkOptions
        {
            Config = Tiny, Isolate = false, Warmup = 1, Repeats = 2, IwboK = 4, IwboImages = 2, IwboDrawsPerPass = 4,
            CalibrationRepeats = 3,
            // One thread: on a loaded 2-core machine (parallel tests) two OpenMP threads make tiny ops tens of times slower.
            Threads = 1,
        };
        var log = new List<string>();
        var report = Benchmark.Run(options, log.Add);

        Assert.Empty(report.Failures);
        using var doc = JsonDocument.Parse(report.ToJson());
        var root = doc.RootElement;
        foreach (var field in Required)
        {
            Assert.True(root.TryGetProperty(field, out var v), $"{field} missing");
            Assert.Equal(JsonValueKind.Number, v.ValueKind);
            Assert.True(v.GetDouble() > 0, $"{field} = {v.GetDouble()}");
        }
        var names = root.GetProperty("measurements").EnumerateArray().Select(m => m.GetProperty("name").GetString()!).ToList();
        Assert.Equal(Benchmark.MeasurementNames, names);
        foreach (var m in root.GetProperty("measurements").EnumerateArray())
        {
            Assert.True(m.GetProperty("median_seconds").GetDouble() > 0);
            Assert.True(m.GetProperty("peak_rss_bytes").GetInt64() > 0);
            Assert.True(m.GetProperty("fraction_of_calibration").GetDouble() > 0);
            // Every model measurement is bracketed by its own calibration; the calibrations are not.
            bool isCalibration = m.GetProperty("name").GetString()!.StartsWith("calibration");
            Assert.Equal(!isCalibration, m.TryGetProperty("calibration_gflops", out var own) && own.ValueKind == JsonValueKind.Number && own.GetDouble() > 0);
        }
        // The IWBO is compared with the same number of single-sample passes, one image at a time and 64 at a time.
        Assert.True(root.GetProperty("iwbo_speedup_vs_single_passes").GetDouble() > 0);
        Assert.True(root.GetProperty("iwbo_speedup_vs_batched_passes").GetDouble() > 0);
        Assert.False(root.GetProperty("isolated").GetBoolean());
        Assert.Contains(report.Notes, n => n.Contains("not isolated"));
        Assert.Equal(3, report.Measurements.Single(m => m.Name == "train_b32").Phases!.Count);

        var table = report.ToTable();
        foreach (var n in Benchmark.MeasurementNames) Assert.Contains(n, table);
        Assert.Equal(report.TrainB64ImagesPerS, BenchmarkReport.FromJson(report.ToJson()).TrainB64ImagesPerS);
        Assert.Contains(log, l => l.StartsWith("iwbo:"));
    }

    [Fact]
    public void Only_accepts_groups_and_names_and_refuses_others()
    {
        Assert.Equal(["calibration_fwd", "calibration_fwd_bwd", "eval64"], Benchmark.Expand(["eval64", "calibration"]));
        Assert.Equal(Benchmark.MeasurementNames, Benchmark.Expand(Benchmark.Groups));
        Assert.Throws<ArgumentException>(() => Benchmark.Expand(["training"]));
        Assert.Throws<ArgumentException>(() => Benchmark.RunOne("nope", new BenchmarkOptions()));
    }

    [Fact]
    public void Child_arguments_round_trip()
    {
        // Every option a child needs, none at its default, so a field dropped on the way shows.
        var o = new BenchmarkOptions
        {
            Preset = "df-74-10", Warmup = 0, Repeats = 3, CalibrationRepeats = 7, IwboK = 10, IwboImages = 1, IwboDrawsPerPass = 5,
            IwboRepeats = 2, Threads = 2, RecomputeFraction = 0.25, Seed = 9, Device = "cuda:1", Layout = ActivationLayout.ChannelsLast,
        };
        var args = Benchmark.ChildArguments("train_b32", o);
        Assert.Equal(["bench", "--child"], args.Take(2));
        Assert.Equal(3, args.Length); // one JSON request, whatever it holds
        var (name, parsed) = Benchmark.ParseChildArguments(args);
        Assert.Equal("train_b32", name);
        Assert.Equal(o with { Isolate = false }, parsed with { Only = o.Only });

        // An explicit configuration travels inside the request, with no temporary file.
        var (_, back) = Benchmark.ParseChildArguments(Benchmark.ChildArguments("eval64", new BenchmarkOptions { Config = Tiny }));
        Assert.Equal(Tiny.ToJson(), back.Config!.ToJson());

        // A malformed request is refused with the flag named, not half-read.
        var bad = Assert.Throws<ArgumentException>(() => Benchmark.ParseChildArguments(["bench", "--child", "{not json"]));
        Assert.Contains("--child", bad.Message);
        Assert.Throws<ArgumentException>(() => Benchmark.ParseChildArguments(["bench", "--child", "train_b32", "--repeats", "3"]));
        Assert.Contains("repeatz", Assert.Throws<ArgumentException>(() =>
            Benchmark.ParseChildArguments(["bench", "--child", """{"name":"train_b32","repeatz":3}"""])).Message); // a misspelt field is not ignored

        // A script's short request: what it leaves out keeps the defaults.
        var (shortName, shortOptions) = Benchmark.ParseChildArguments(["bench", "--child", """{"name":"train_b64","preset":"small32x1","repeats":3,"threads":2}"""]);
        Assert.Equal("train_b64", shortName);
        var expected = new BenchmarkOptions { Isolate = false, Preset = "small32x1", Repeats = 3, Threads = 2 };
        Assert.Equal(expected, shortOptions with { Only = expected.Only });
    }

    [Fact]
    public void Measurement_json_is_one_line_and_round_trips()
    {
        var m = new Measurement("eval64", 1.5, 42.7, 123456789, 290.1, null)
        {
            Batch = 64, Seconds = [1.4, 1.5, 1.6], Phases = new() { ["forward"] = 1.0 }, Isolated = true,
        };
        var json = m.ToJson();
        Assert.DoesNotContain('\n', json);
        var back = Measurement.FromJson(json);
        Assert.Equal(m.Name, back.Name);
        Assert.Equal(m.ImagesPerSecond, back.ImagesPerSecond);
        Assert.Equal(m.PeakRssBytes, back.PeakRssBytes);
        Assert.Equal(m.Seconds, back.Seconds);
        Assert.Null(back.FractionOfCalibration);
        Assert.True(back.Isolated);
    }
}
