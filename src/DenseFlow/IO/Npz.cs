using System.IO.Compression;

namespace DenseFlow.IO;

/// <summary>
/// Reads and writes NumPy .npz archives (zip files of .npy entries, as written by np.savez and
/// np.savez_compressed). Keys are entry names without the ".npy" suffix.
/// </summary>
public static class Npz
{
    /// <summary>Reads every array of the archive at once. For large files prefer <see cref="NpzFile"/>.</summary>
    public static IReadOnlyDictionary<string, NpyArray> Read(string path)
    {
        using var file = new NpzFile(path);
        return file.ReadAll();
    }

    /// <summary>Opens the archive lazily; dispose the result.</summary>
    public static NpzFile Open(string path) => new(path);

    /// <summary>
    /// Writes the arrays to <paramref name="path"/> (replacing it). Entries are stored uncompressed
    /// like np.savez unless <paramref name="compress"/> is set. Written atomically
    /// (<see cref="AtomicFile"/>), so an interrupted write never leaves a half archive.
    /// </summary>
    public static void Write(string path, IEnumerable<KeyValuePair<string, NpyArray>> arrays, bool compress = false)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(arrays);

        AtomicFile.Write(path, stream =>
        {
            // The archive is finished (central directory written) when disposed, before the file is flushed and renamed.
            using var archive = new ZipArchive(stream, ZipArchiveMode.Create, leaveOpen: true);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            var level = compress ? CompressionLevel.Optimal : CompressionLevel.NoCompression;
            foreach (var (key, array) in arrays)
            {
                ArgumentNullException.ThrowIfNull(array, $"array '{key}'");
                if (!seen.Add(key)) throw new ArgumentException($"Duplicate key '{key}'.", nameof(arrays));
                var entry = archive.CreateEntry(key + ".npy", level);
                // A fixed timestamp (numpy uses 1980-01-01 too) keeps identical content byte-identical.
                entry.LastWriteTime = new DateTimeOffset(1980, 1, 1, 0, 0, 0, TimeSpan.Zero);
                using var entryStream = entry.Open();
                Npy.Write(entryStream, array);
            }
        });
    }
}
