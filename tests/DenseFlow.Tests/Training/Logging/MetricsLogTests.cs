using System.Text;
using System.Text.Json;
using DenseFlow.Training.Logging;

namespace DenseFlow.Tests.Training.Logging;

public sealed class MetricsLogTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("denseflow-metrics-").FullName;
    string LogPath => Path.Combine(_dir, MetricsLog.FileName);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    static long[] Steps(IEnumerable<JsonElement> records) =>
        records.Where(r => r.TryGetProperty("step", out _)).Select(r => r.GetProperty("step").GetInt64()).ToArray();

    [Fact]
    public void RoundTripsRecords()
    {
        using (var log = new MetricsLog(LogPath))
        {
            log.Append(new { step = 1L, epoch = 0, train_bpd = 7.25, phase = "train" });
            log.Append(new Dictionary<string, object?> { ["step"] = 2L, ["train_bpd"] = 6.5, ["lr"] = 1e-3 });
            // Lines are flushed as written: visible to a reader while the log is still open.
            Assert.Equal([1L, 2L], Steps(MetricsLog.Read(LogPath)));
        }

        var records = MetricsLog.Read(LogPath).ToList();
        Assert.Equal(2, records.Count);
        Assert.Equal(7.25, records[0].GetProperty("train_bpd").GetDouble());
        Assert.Equal("train", records[0].GetProperty("phase").GetString());
        Assert.Equal(1e-3, records[1].GetProperty("lr").GetDouble());
        Assert.Equal(2, File.ReadAllLines(LogPath).Length); // one object per line
    }

    [Fact]
    public void NonFiniteValuesAreLoggedAndReadBack()
    {
        using (var log = new MetricsLog(LogPath))
        {
            log.Append(new { step = 1, train_bpd = double.NaN });
            log.Append(new { step = 2, train_bpd = double.PositiveInfinity });
            log.Append(new { step = 3, train_bpd = 3.5 });
            log.Append(new { step = 4, test_bpd = 3.6 });
        }

        var series = MetricsLog.Series(MetricsLog.Read(LogPath), "train_bpd");
        Assert.Equal(3, series.Count);
        Assert.True(double.IsNaN(series[0].Y));
        Assert.Equal(double.PositiveInfinity, series[1].Y);
        Assert.Equal((3.0, 3.5), series[2]);
        Assert.Equal([(4.0, 3.6)], MetricsLog.Series(MetricsLog.Read(LogPath), "test_bpd"));
    }

    [Fact]
    public void RejectsNonObjectRecords()
    {
        using var log = new MetricsLog(LogPath);
        Assert.Throws<ArgumentException>(() => log.Append(42));
        Assert.Throws<ArgumentException>(() => log.Append("{\"step\": 1}"));
    }

    [Fact]
    public void IgnoresTruncatedLastLine()
    {
        File.WriteAllText(LogPath, "{\"step\":1,\"bpd\":4.0}\n{\"step\":2,\"bpd\":3.9}\n{\"step\":3,\"bp");
        Assert.Equal([1L, 2L], Steps(MetricsLog.Read(LogPath)));
    }

    [Fact]
    public void CorruptLineInTheMiddleThrows()
    {
        File.WriteAllText(LogPath, "{\"step\":1}\n{\"step\":2,\n{\"step\":3}\n");
        var e = Assert.Throws<InvalidDataException>(() => MetricsLog.Read(LogPath).ToList());
        Assert.Contains(":2:", e.Message);
    }

    [Fact]
    public void BlankLinesAreSkipped()
    {
        File.WriteAllText(LogPath, "\n{\"step\":1}\n\n{\"step\":2}\n\n");
        Assert.Equal([1L, 2L], Steps(MetricsLog.Read(LogPath)));
    }

    [Fact]
    public void ReopeningAfterCrashRepairsThePartialLine()
    {
        File.WriteAllText(LogPath, "{\"step\":1}\n{\"step\":2,\"bp");
        using (var log = new MetricsLog(LogPath)) log.Append(new { step = 3 });
        Assert.Equal("{\"step\":1}\n{\"step\":3}\n", File.ReadAllText(LogPath));

        // A complete record that only lost its newline is kept.
        File.WriteAllText(LogPath, "{\"step\":1}\n{\"step\":2}");
        using (var log = new MetricsLog(LogPath)) log.Append(new { step = 3 });
        Assert.Equal([1L, 2L, 3L], Steps(MetricsLog.Read(LogPath)));
    }

    [Fact]
    public void TruncateAfterStepKeepsRecordsUpToTheStep()
    {
        var text = new StringBuilder()
            .Append("{\"run\":\"header\",\"lr\":0.001}\n")   // no step: kept
            .Append("{\"step\":100,\"train_bpd\":5.0}\n")
            .Append("{\"step\":200,\"train_bpd\":4.0}\n")
            .Append("{\"step\":200,\"test_bpd\":4.1,\"epoch\":1}\n")
            .Append("{\"step\":300,\"train_bpd\":3.5}\n")
            .Append("{\"step\":400,\"train_bpd\":3.4}\n")
            .Append("{\"step\":500,\"train_b");                 // crashed mid-write: dropped
        File.WriteAllText(LogPath, text.ToString());

        Assert.Equal(2, MetricsLog.TruncateAfterStep(LogPath, 250));

        var records = MetricsLog.Read(LogPath).ToList();
        Assert.Equal([100L, 200L, 200L], Steps(records));
        Assert.Equal("header", records[0].GetProperty("run").GetString());
        Assert.Equal(4.1, records[3].GetProperty("test_bpd").GetDouble());
        Assert.EndsWith("\n", File.ReadAllText(LogPath));
        Assert.False(File.Exists(LogPath + ".tmp"));
    }

    [Fact]
    public void ResumeTruncatesThenKeepsAppending()
    {
        using (var log = new MetricsLog(LogPath))
            for (int step = 1; step <= 5; step++) log.Append(new { step, bpd = 4.0 - step * 0.1 });

        // The resumed run restores the checkpoint of step 3 and continues from there.
        using (var log = new MetricsLog(LogPath))
        {
            Assert.Equal(2, log.TruncateAfterStep(3));
            log.Append(new { step = 4, bpd = 1.0 });
        }

        var records = MetricsLog.Read(LogPath).ToList();
        Assert.Equal([1L, 2L, 3L, 4L], Steps(records));
        Assert.Equal(1.0, records[3].GetProperty("bpd").GetDouble());
    }

    [Fact]
    public void TruncateOnMissingFileIsANoOp()
    {
        Assert.Equal(0, MetricsLog.TruncateAfterStep(LogPath, 10));
        Assert.False(File.Exists(LogPath));
    }
}
