using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using DenseFlow.IO;

namespace DenseFlow.Training.Logging;

/// <summary>
/// Append-only metrics log in JSON Lines format: one JSON object per line, flushed as it is written, so
/// a crashed run loses at most the line being written. Non-finite numbers are written as the strings
/// "NaN", "Infinity" and "-Infinity" (plain JSON has no literal for them; a diverging run must still log).
/// </summary>
public sealed class MetricsLog : IDisposable
{
    public const string FileName = "metrics.jsonl";

    static readonly JsonSerializerOptions SerializerOptions = new()
    {
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        WriteIndented = false,
    };

    readonly object _gate = new();
    FileStream? _stream;

    public string Path { get; }

    /// <summary>
    /// Opens (or creates) the log for appending. A partial last line left by a crash is repaired first,
    /// so the next record does not get glued onto it.
    /// </summary>
    public MetricsLog(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        Path = System.IO.Path.GetFullPath(path);
        string? dir = System.IO.Path.GetDirectoryName(Path);
        if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
        _stream = Open(Path);
    }

    /// <summary>
    /// Appends one record, e.g. <c>log.Append(new { step, epoch, train_bpd })</c> or a dictionary.
    /// The value must serialize to a JSON object.
    /// </summary>
    public void Append<T>(T record)
    {
        byte[] json = JsonSerializer.SerializeToUtf8Bytes(record, SerializerOptions);
        if (json.Length == 0 || json[0] != (byte)'{')
            throw new ArgumentException("A metrics record must serialize to a JSON object.", nameof(record));

        // One write of line + newline keeps a crash from splitting records other than the last one.
        var line = new byte[json.Length + 1];
        json.CopyTo(line, 0);
        line[^1] = (byte)'\n';
        lock (_gate)
        {
            var stream = _stream ?? throw new ObjectDisposedException(nameof(MetricsLog));
            stream.Write(line);
            stream.Flush();
        }
    }

    /// <summary>
    /// For resuming from a checkpoint at <paramref name="step"/>: drops the records the crashed run wrote
    /// after it (see <see cref="TruncateAfterStep(string,long)"/>) and keeps appending to the rewritten file.
    /// </summary>
    public int TruncateAfterStep(long step)
    {
        lock (_gate)
        {
            // The file is replaced by a rename, so the old handle must be closed and a new one opened.
            var stream = _stream ?? throw new ObjectDisposedException(nameof(MetricsLog));
            stream.Dispose();
            _stream = null;
            try
            {
                return TruncateAfterStep(Path, step);
            }
            finally
            {
                _stream = Open(Path);
            }
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _stream?.Dispose();
            _stream = null;
        }
    }

    /// <summary>
    /// Atomically rewrites the log keeping records whose "step" is &lt;= <paramref name="step"/>, plus records
    /// that have no numeric "step" at all (run headers and the like are not tied to a step). A truncated
    /// last line is dropped. Returns the number of records removed; a missing file is left missing.
    /// </summary>
    public static int TruncateAfterStep(string path, long step)
    {
        if (!File.Exists(path)) return 0;
        var kept = new MemoryStream();
        int removed = 0;
        foreach (var record in Read(path))
        {
            if (TryGetStep(record, out double recordStep) && recordStep > step)
            {
                removed++;
                continue;
            }
            // GetRawText keeps the record byte-for-byte as written (number formatting included).
            kept.Write(Encoding.UTF8.GetBytes(record.GetRawText()));
            kept.WriteByte((byte)'\n');
        }
        AtomicFile.Write(path, s => kept.WriteTo(s));
        return removed;
    }

    /// <summary>
    /// Reads all records. The last line is ignored if it is not a complete JSON object (a run that crashed
    /// mid-write); an invalid line anywhere else means real corruption and throws <see cref="InvalidDataException"/>.
    /// Blank lines are skipped. The file may be open for appending by a running training process.
    /// </summary>
    public static IEnumerable<JsonElement> Read(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream, Encoding.UTF8);

        // A bad line is only reported once we know another non-blank line follows it.
        (int Number, string Error)? pendingError = null;
        int lineNumber = 0;
        string? line;
        while ((line = reader.ReadLine()) != null)
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            if (pendingError is { } bad)
                throw new InvalidDataException($"{path}:{bad.Number}: invalid metrics record ({bad.Error}).");

            JsonElement? record = TryParseObject(line, out string? error);
            if (record is { } r) yield return r;
            else pendingError = (lineNumber, error!);
        }
    }

    /// <summary>
    /// Extracts (x, y) pairs, e.g. ("step", "train_bpd"), from records that have both as numbers (or as the
    /// non-finite strings this log writes). Records missing either key are skipped.
    /// </summary>
    public static List<(double X, double Y)> Series(IEnumerable<JsonElement> records, string yKey, string xKey = "step")
    {
        var points = new List<(double X, double Y)>();
        foreach (var record in records)
        {
            if (record.ValueKind == JsonValueKind.Object
                && record.TryGetProperty(xKey, out var x) && TryGetNumber(x, out double xv)
                && record.TryGetProperty(yKey, out var y) && TryGetNumber(y, out double yv))
                points.Add((xv, yv));
        }
        return points;
    }

    static FileStream Open(string path)
    {
        var stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read);
        try
        {
            RepairTail(stream);
            stream.Seek(0, SeekOrigin.End);
            return stream;
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>
    /// If the file does not end in a newline, the previous writer died mid-line: keep that line if it is a
    /// complete record (only the newline was lost), otherwise cut it off.
    /// </summary>
    static void RepairTail(FileStream stream)
    {
        long length = stream.Length;
        if (length == 0) return;
        stream.Seek(-1, SeekOrigin.End);
        if (stream.ReadByte() == '\n') return;

        // Find the start of the last line by scanning backwards in chunks.
        long start = 0;
        var buffer = new byte[4096];
        for (long end = length; end > 0 && start == 0;)
        {
            int count = (int)Math.Min(buffer.Length, end);
            stream.Seek(end - count, SeekOrigin.Begin);
            stream.ReadExactly(buffer, 0, count);
            int newline = Array.LastIndexOf(buffer, (byte)'\n', count - 1);
            if (newline >= 0) start = end - count + newline + 1;
            end -= count;
        }

        var tail = new byte[length - start];
        stream.Seek(start, SeekOrigin.Begin);
        stream.ReadExactly(tail);
        if (TryParseObject(Encoding.UTF8.GetString(tail), out _) != null)
        {
            stream.Seek(0, SeekOrigin.End);
            stream.WriteByte((byte)'\n');
        }
        else
        {
            stream.SetLength(start);
        }
        stream.Flush();
    }

    static JsonElement? TryParseObject(string line, out string? error)
    {
        try
        {
            using var doc = JsonDocument.Parse(line);
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                error = $"expected a JSON object, got {doc.RootElement.ValueKind}";
                return null;
            }
            error = null;
            return doc.RootElement.Clone(); // Clone outlives the disposed document
        }
        catch (JsonException e)
        {
            error = e.Message;
            return null;
        }
    }

    static bool TryGetStep(JsonElement record, out double step)
    {
        step = 0;
        return record.TryGetProperty("step", out var value) && value.ValueKind == JsonValueKind.Number
            && value.TryGetDouble(out step);
    }

    static bool TryGetNumber(JsonElement value, out double number)
    {
        number = 0;
        return value.ValueKind switch
        {
            JsonValueKind.Number => value.TryGetDouble(out number),
            JsonValueKind.String => value.GetString() switch
            {
                "NaN" => Set(double.NaN, out number),
                "Infinity" => Set(double.PositiveInfinity, out number),
                "-Infinity" => Set(double.NegativeInfinity, out number),
                _ => false,
            },
            _ => false,
        };

        static bool Set(double v, out double n) { n = v; return true; }
    }
}
