using System.Buffers.Binary;
using System.IO.Compression;
using System.Runtime.InteropServices;
using SkiaSharp;

namespace DenseFlow.Tests.Data;

/// <summary>Writers for tiny dataset files.</summary>
public static class TestFiles
{
    /// <summary>An IDX image file (magic 0x803) for <paramref name="count"/> images of rows×cols, optionally gzipped.</summary>
    public static byte[] Idx(byte[] pixels, int count, int rows, int cols, uint magic = 0x803)
    {
        var bytes = new byte[16 + pixels.Length];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, magic);
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(4), (uint)count);
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(8), (uint)rows);
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(12), (uint)cols);
        pixels.CopyTo(bytes, 16);
        return bytes;
    }

    public static byte[] Gzip(byte[] data)
    {
        using var output = new MemoryStream();
        using (var gz = new GZipStream(output, CompressionLevel.Fastest))
            gz.Write(data);
        return output.ToArray();
    }

    /// <summary>Deterministic pseudo-random bytes.</summary>
    public static byte[] Pattern(int length, int salt)
    {
        var bytes = new byte[length];
        for (int i = 0; i < length; i++) bytes[i] = (byte)((i * 31 + salt * 97 + (i >> 5) * 7) & 0xFF);
        return bytes;
    }

    /// <summary>Encodes an RGB image given by a pixel function as PNG or JPEG.</summary>
    public static void WriteImage(string path, int width, int height, Func<int, int, (byte R, byte G, byte B)> pixel,
        SKEncodedImageFormat format = SKEncodedImageFormat.Png, int quality = 100)
    {
        var rgba = new byte[width * height * 4];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                var (r, g, b) = pixel(x, y);
                int i = (y * width + x) * 4;
                (rgba[i], rgba[i + 1], rgba[i + 2], rgba[i + 3]) = (r, g, b, 255);
            }
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        Marshal.Copy(rgba, 0, bitmap.GetPixels(), rgba.Length); // SetPixel per pixel is slow
        using var data = bitmap.Encode(format, quality);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, data.ToArray());
    }

    public static byte[] Image(DenseFlow.Data.IImageDataset dataset, int index)
    {
        var chw = new byte[dataset.Shape.Size];
        dataset.CopyImage(index, chw);
        return chw;
    }
}
