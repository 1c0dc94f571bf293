// Marks one symbol-version requirement of an ELF64 little-endian shared object as weak.
//
// Why: TorchSharp 0.107.0's libLibTorchSharp.so declares a need for GLIBCXX_3.4.32, but Debian 12's
// libstdc++ provides only up to 3.4.30, so the dynamic loader refuses the library. The only symbol
// behind that version (std::ios_base_library_init) has no relocation and is never bound. Setting
// VER_FLG_WEAK (0x2) in the vna_flags of that .gnu.version_r entry makes the loader accept a missing
// version with a warning-free load. This file is compiled both into the MSBuild task (build/) and
// into the tests, so the patch itself is tested.
using System;
using System.IO;
using System.Text;

namespace DenseFlow.Build
{
    public static class ElfVersionNeedPatcher
    {
        const uint ShtGnuVerneed = 0x6ffffffe;
        public const ushort VerFlgWeak = 0x2;

        /// <summary>Outcome of <see cref="MarkWeak"/>.</summary>
        public enum Result { Patched, AlreadyWeak, NotNeeded, NotElf64 }

        /// <summary>True when the file (a libstdc++) defines the given version string.</summary>
        public static bool LibraryDefinesVersion(string path, string version)
        {
            byte[] data = File.ReadAllBytes(path);
            byte[] needle = Encoding.ASCII.GetBytes(version + "\0");
            return IndexOf(data, needle) >= 0;
        }

        /// <summary>Sets VER_FLG_WEAK on the vernaux entry named <paramref name="version"/>, in place.</summary>
        public static Result MarkWeak(string path, string version)
        {
            byte[] data = File.ReadAllBytes(path);
            var result = MarkWeak(data, version, out _);
            if (result == Result.Patched)
            {
                // Write beside and rename, so an interrupted build never leaves half a library.
                string tmp = path + ".weakpatch.tmp";
                File.WriteAllBytes(tmp, data);
                File.Replace(tmp, path, null);
            }
            return result;
        }

        /// <summary>Patches the image in memory; <paramref name="flagsOffset"/> is the file offset of vna_flags.</summary>
        public static Result MarkWeak(byte[] data, string version, out long flagsOffset)
        {
            flagsOffset = -1;
            if (data.Length < 64 || data[0] != 0x7f || data[1] != (byte)'E' || data[2] != (byte)'L' || data[3] != (byte)'F'
                || data[4] != 2 /* ELFCLASS64 */ || data[5] != 1 /* little endian */)
                return Result.NotElf64;

            long shoff = (long)BitConverter.ToUInt64(data, 0x28);
            int shentsize = BitConverter.ToUInt16(data, 0x3A);
            int shnum = BitConverter.ToUInt16(data, 0x3C);
            if (shoff <= 0 || shentsize < 64 || shoff + (long)shentsize * shnum > data.Length) return Result.NotElf64;

            for (int i = 0; i < shnum; i++)
            {
                long sh = shoff + (long)i * shentsize;
                if (BitConverter.ToUInt32(data, (int)sh + 4) != ShtGnuVerneed) continue;
                long off = (long)BitConverter.ToUInt64(data, (int)sh + 0x18);
                int link = (int)BitConverter.ToUInt32(data, (int)sh + 0x28);
                int count = (int)BitConverter.ToUInt32(data, (int)sh + 0x2C); // sh_info = number of Verneed entries
                long strOff = (long)BitConverter.ToUInt64(data, (int)(shoff + (long)link * shentsize) + 0x18);

                long vn = off;
                for (int n = 0; n < count; n++)
                {
                    int cnt = BitConverter.ToUInt16(data, (int)vn + 2);
                    uint aux = BitConverter.ToUInt32(data, (int)vn + 8);
                    uint next = BitConverter.ToUInt32(data, (int)vn + 12);
                    long va = vn + aux;
                    for (int a = 0; a < cnt; a++)
                    {
                        ushort flags = BitConverter.ToUInt16(data, (int)va + 4);
                        uint name = BitConverter.ToUInt32(data, (int)va + 8);
                        uint vnext = BitConverter.ToUInt32(data, (int)va + 12);
                        if (ReadCString(data, strOff + name) == version)
                        {
                            flagsOffset = va + 4;
                            if ((flags & VerFlgWeak) != 0) return Result.AlreadyWeak;
                            ushort patched = (ushort)(flags | VerFlgWeak);
                            data[va + 4] = (byte)(patched & 0xff);
                            data[va + 5] = (byte)(patched >> 8);
                            return Result.Patched;
                        }
                        if (vnext == 0) break;
                        va += vnext;
                    }
                    if (next == 0) break;
                    vn += next;
                }
            }
            return Result.NotNeeded;
        }

        static string ReadCString(byte[] data, long offset)
        {
            long end = offset;
            while (end < data.Length && data[end] != 0) end++;
            return Encoding.ASCII.GetString(data, (int)offset, (int)(end - offset));
        }

        static int IndexOf(byte[] haystack, byte[] needle)
        {
            for (int i = 0; i <= haystack.Length - needle.Length; i++)
            {
                int j = 0;
                while (j < needle.Length && haystack[i + j] == needle[j]) j++;
                if (j == needle.Length) return i;
            }
            return -1;
        }
    }

#if !DENSEFLOW_TESTS
    /// <summary>MSBuild task: patches every libLibTorchSharp.so below Directory when the system libstdc++ lacks the version.</summary>
    public class MarkGlibcxxNeedWeak : Microsoft.Build.Utilities.Task
    {
        const string Version = "GLIBCXX_3.4.32";
        [Microsoft.Build.Framework.Required] public string Directory { get; set; } = "";

        public override bool Execute()
        {
            if (!System.IO.Directory.Exists(Directory)) return true;
            string[] libs = System.IO.Directory.GetFiles(Directory, "libLibTorchSharp.so", SearchOption.AllDirectories);
            if (libs.Length == 0) return true;
            string? libstdcxx = FindSystemLibStdCxx();
            if (libstdcxx == null || ElfVersionNeedPatcher.LibraryDefinesVersion(libstdcxx, Version))
            {
                Log.LogMessage(Microsoft.Build.Framework.MessageImportance.Low,
                    $"libstdc++ ({libstdcxx ?? "not found"}) provides {Version} or cannot be read: libLibTorchSharp.so left as is.");
                return true;
            }
            foreach (var lib in libs)
            {
                var r = ElfVersionNeedPatcher.MarkWeak(lib, Version);
                Log.LogMessage(Microsoft.Build.Framework.MessageImportance.Normal, $"{lib}: {Version} need {r}");
            }
            return true;
        }

        static string? FindSystemLibStdCxx()
        {
            foreach (var dir in new[] { "/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib", "/lib/x86_64-linux-gnu", "/lib64" })
            {
                string p = Path.Combine(dir, "libstdc++.so.6");
                if (File.Exists(p)) return p;
            }
            return null;
        }
    }
#endif
}
