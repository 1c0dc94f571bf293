using System.IO.MemoryMappedFiles;
using System.Text;

namespace DenseFlow.Host;

/// <summary>
/// Looks names up in an ELF64 shared library's full symbol table (.symtab), which also lists the symbols the
/// library does not export. Hand-written: .NET's NativeLibrary only finds exported symbols, and no kept library
/// reads ELF files.
/// </summary>
public static class ElfSymbols
{
    /// <summary>A symbol's value (its address relative to the library's load base) and size in bytes.</summary>
    public readonly record struct Symbol(ulong Value, ulong Size);

    /// <summary>
    /// The symbols of <paramref name="names"/> (exact, mangled names) found in <paramref name="path"/>'s .symtab;
    /// names that are not there are missing from the result. Throws <see cref="InvalidDataException"/> naming the
    /// file when it is not a little-endian ELF64 file.
    /// </summary>
    public static Dictionary<string, Symbol> Find(string path, params string[] names)
    {
        try { return FindIn(path, names); }
        catch (InvalidDataException e) when (!e.Message.StartsWith(path, StringComparison.Ordinal))
        {
            throw new InvalidDataException($"{path}: {e.Message}");
        }
    }

    static unsafe Dictionary<string, Symbol> FindIn(string path, string[] names)
    {
        var found = new Dictionary<string, Symbol>(StringComparer.Ordinal);
        if (new FileInfo(path).Length < 64) throw new InvalidDataException($"{path}: not a little-endian 64-bit ELF file (shorter than an ELF header)");
        var wanted = names.ToDictionary(n => n, n => Encoding.ASCII.GetBytes(n), StringComparer.Ordinal);
        using var file = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        using var view = file.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
        byte* start = null;
        view.SafeMemoryMappedViewHandle.AcquirePointer(ref start);
        try
        {
            long length = (long)view.SafeMemoryMappedViewHandle.ByteLength;
            if (start[0] != 0x7F || start[1] != (byte)'E' || start[2] != (byte)'L' || start[3] != (byte)'F' || start[4] != 2 || start[5] != 1)
                throw new InvalidDataException($"{path}: not a little-endian 64-bit ELF file");
            ulong sectionTable = Read<ulong>(start, 0x28, length);
            int entrySize = Read<ushort>(start, 0x3A, length), count = Read<ushort>(start, 0x3C, length);
            if (count > 0 && entrySize != 64) throw new InvalidDataException($"section headers of {entrySize} bytes, expected 64");
            for (int s = 0; s < count; s++)
            {
                long header = (long)sectionTable + (long)s * entrySize;
                if (Read<uint>(start, header + 4, length) != 2) continue;   // SHT_SYMTAB
                long symbols = (long)Read<ulong>(start, header + 24, length), symbolsSize = (long)Read<ulong>(start, header + 32, length);
                long linked = (long)sectionTable + (long)Read<uint>(start, header + 40, length) * entrySize;
                long strings = (long)Read<ulong>(start, linked + 24, length), stringsSize = (long)Read<ulong>(start, linked + 32, length);
                if (!Within(symbols, symbolsSize, length) || !Within(strings, stringsSize, length))
                    throw new InvalidDataException($"{path}: symbol table runs past the end of the file");
                for (long entry = symbols; entry + 24 <= symbols + symbolsSize; entry += 24)
                {
                    uint name = Read<uint>(start, entry, length);
                    if (name >= stringsSize) continue;
                    var text = new ReadOnlySpan<byte>(start + strings + name, (int)Math.Min(stringsSize - name, 4096));
                    int end = text.IndexOf((byte)0);
                    if (end <= 0) continue;
                    text = text[..end];
                    foreach (var (key, bytes) in wanted)
                        if (text.SequenceEqual(bytes) && !found.ContainsKey(key))
                            found[key] = new Symbol(Read<ulong>(start, entry + 8, length), Read<ulong>(start, entry + 16, length));
                    if (found.Count == wanted.Count) return found;
                }
            }
            return found;
        }
        finally { view.SafeMemoryMappedViewHandle.ReleasePointer(); }
    }

    static bool Within(long offset, long size, long length) => offset >= 0 && size >= 0 && offset <= length - size;

    static unsafe T Read<T>(byte* start, long offset, long length) where T : unmanaged =>
        offset >= 0 && offset + sizeof(T) <= length ? *(T*)(start + offset) : throw new InvalidDataException("ELF header or section table runs past the end of the file");
}
