using System.IO.Compression;

namespace DenseFlow.IO;

/// <summary>
/// Lazily opened .npz archive: only the zip directory is read up front, each array is
/// decoded when <see cref="Get"/> asks for it. Suited to large weight files.
/// </summary>
public sealed class NpzFile : IDisposable
{
    private readonly ZipArchive _archive;
    private readonly Dictionary<string, ZipArchiveEntry> _entries;
    private readonly object _lock = new(); // ZipArchive is not thread-safe.
    private bool _disposed;

    /// <summary>Path the archive was opened from; used in error messages.</summary>
    public string Path { get; }

    /// <summary>Array names (entry names without ".npy") in archive order.</summary>
    public IReadOnlyList<string> Keys { get; }

    public NpzFile(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"File not found: {path}", path);
        Path = path;

        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        try
        {
            _archive = new ZipArchive(stream, ZipArchiveMode.Read, leaveOpen: false);
        }
        catch (Exception e) when (e is InvalidDataException or IOException)
        {
            stream.Dispose();
            throw new InvalidDataException(
                $"{path}: not a readable .npz (zip) archive (expected a zip file of .npy entries): {OneLine(e.Message)}", e);
        }

        _entries = new Dictionary<string, ZipArchiveEntry>(StringComparer.Ordinal);
        var keys = new List<string>();
        foreach (var entry in _archive.Entries)
        {
            if (entry.FullName.EndsWith('/')) continue; // directory entry
            if (!entry.FullName.EndsWith(".npy", StringComparison.Ordinal))
            {
                _archive.Dispose();
                throw new InvalidDataException(
                    $"{path}: entry '{entry.FullName}' is not a .npy array (expected only *.npy entries).");
            }
            string key = entry.FullName[..^4];
            if (!_entries.TryAdd(key, entry))
            {
                _archive.Dispose();
                throw new InvalidDataException($"{path}: entry '{entry.FullName}' occurs twice (expected unique names).");
            }
            keys.Add(key);
        }
        Keys = keys;
    }

    public bool Contains(string key) => _entries.ContainsKey(key);

    /// <summary>Reads and decodes the array stored as "<paramref name="key"/>.npy".</summary>
    public NpyArray Get(string key) => WithEntry(key, (stream, source) => Npy.Read(stream, source));

    private T WithEntry<T>(string key, Func<Stream, string, T> read)
    {
        if (!_entries.TryGetValue(key, out var entry))
            throw new KeyNotFoundException($"{Path}: no array '{key}' (no entry '{key}.npy').");

        string source = $"{Path}: entry '{entry.FullName}'";
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            try
            {
                using var stream = entry.Open();
                return read(stream, source);
            }
            catch (InvalidDataException e) when (e.Message.StartsWith(source, StringComparison.Ordinal))
            {
                throw; // already names file and entry
            }
            catch (Exception e) when (e is InvalidDataException or IOException)
            {
                // Errors from the zip layer (bad CRC, truncated deflate stream, ...).
                throw new InvalidDataException($"{source} could not be read (expected valid zip data): {OneLine(e.Message)}", e);
            }
        }
    }

    /// <summary>Reads only the dtype and shape of an array (cheap even for huge entries).</summary>
    public NpyHeader GetHeader(string key) => WithEntry(key, (stream, source) => Npy.ReadHeader(stream, source));

    /// <summary>Reads every array, in archive order.</summary>
    public Dictionary<string, NpyArray> ReadAll()
    {
        var result = new Dictionary<string, NpyArray>(StringComparer.Ordinal);
        foreach (var key in Keys) result[key] = Get(key);
        return result;
    }

    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed) return;
            _disposed = true;
            _archive.Dispose();
        }
    }

    internal static string OneLine(string message) => message.ReplaceLineEndings(" ").Trim();
}
