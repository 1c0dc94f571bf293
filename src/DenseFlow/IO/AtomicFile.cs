namespace DenseFlow.IO;

/// <summary>
/// Writes a file so that readers (and a later run after a crash) see either the old content or the
/// complete new content, never a torn file: write <c>path + ".tmp"</c>, flush it to disk, then rename
/// it over <paramref name="path"/>. The rename is atomic on POSIX filesystems and NTFS. Every file the library
/// and the tool write whole (weights, checkpoints, images, JSON, CSV, NumPy files) goes through here.
/// </summary>
public static class AtomicFile
{
    public static void Write(string path, Action<Stream> write)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(write);

        string full = Path.GetFullPath(path);
        string? dir = Path.GetDirectoryName(full);
        if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);

        string tmp = full + ".tmp";
        try
        {
            using (var stream = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                write(stream);
                // Without fsync, a power loss right after the rename can leave an empty file on some filesystems.
                stream.Flush(flushToDisk: true);
            }
            File.Move(tmp, full, overwrite: true);
        }
        catch
        {
            TryDelete(tmp);
            throw;
        }
    }

    public static void WriteAllBytes(string path, ReadOnlySpan<byte> bytes)
    {
        // Spans cannot be captured by the lambda, so copy once; these files are small.
        byte[] copy = bytes.ToArray();
        Write(path, s => s.Write(copy));
    }

    /// <summary>Copies <paramref name="source"/> to <paramref name="path"/>: a crash leaves no torn copy.</summary>
    public static void Copy(string source, string path)
    {
        using var input = new FileStream(source, FileMode.Open, FileAccess.Read, FileShare.Read);
        Write(path, s => input.CopyTo(s));
    }

    /// <summary>Writes <paramref name="text"/> as UTF-8 without a byte-order mark, as <see cref="File.WriteAllText(string, string?)"/> does.</summary>
    public static void WriteAllText(string path, string text) => Write(path, s => s.Write(System.Text.Encoding.UTF8.GetBytes(text)));

    static void TryDelete(string path)
    {
        try { File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
