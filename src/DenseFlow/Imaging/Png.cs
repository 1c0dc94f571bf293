using SkiaSharp;
using TorchSharp;
using DenseFlow.IO;

namespace DenseFlow.Imaging;

/// <summary>
/// PNG input/output for 8-bit images stored planar (C,H,W), the layout tensors use.
/// Only grayscale (C=1) and RGB (C=3) are supported. Every write is atomic (see <see cref="AtomicFile"/>),
/// so a crash while saving samples never leaves a truncated PNG behind.
/// </summary>
public static class Png
{
    /// <summary>Saves one image given as planar bytes: <c>chw[ch*H*W + y*W + x]</c>.</summary>
    public static void Save(string path, byte[] chw, int channels, int height, int width)
    {
        ArgumentNullException.ThrowIfNull(chw);
        CheckShape(channels, height, width);
        CheckLength(chw, (long)channels * height * width, nameof(chw));
        AtomicFile.WriteAllBytes(path, Encode(chw, channels, height, width));
    }

    /// <summary>Encodes planar bytes as a PNG in memory.</summary>
    public static byte[] Encode(byte[] chw, int channels, int height, int width)
    {
        ArgumentNullException.ThrowIfNull(chw);
        CheckShape(channels, height, width);
        CheckLength(chw, (long)channels * height * width, nameof(chw));

        var (info, pixels) = SkiaPixels(chw, channels, height, width);

        using var image = SKImage.FromPixelCopy(info, pixels, info.RowBytes)
            ?? throw new InvalidOperationException("SkiaSharp could not wrap the pixel buffer.");
        using var data = image.Encode(SKEncodedImageFormat.Png, 100)
            ?? throw new InvalidOperationException("SkiaSharp failed to encode the PNG.");
        return data.ToArray();
    }

    /// <summary>
    /// Planar (C,H,W) bytes as a Skia pixel buffer: Gray8 for one channel (written as a true grayscale
    /// image, so it round-trips as one channel), opaque RGBA for three (Skia has no packed 24-bit format;
    /// encoders drop the alpha).
    /// </summary>
    internal static (SKImageInfo Info, byte[] Pixels) SkiaPixels(ReadOnlySpan<byte> chw, int channels, int height, int width)
    {
        if (channels == 1) return (new SKImageInfo(width, height, SKColorType.Gray8, SKAlphaType.Opaque), chw.ToArray());
        int plane = height * width;
        var pixels = new byte[plane * 4];
        for (int i = 0; i < plane; i++)
        {
            pixels[4 * i] = chw[i];
            pixels[4 * i + 1] = chw[plane + i];
            pixels[4 * i + 2] = chw[2 * plane + i];
            pixels[4 * i + 3] = 255;
        }
        return (new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque), pixels);
    }

    /// <summary>
    /// Reads a PNG back as planar bytes. Grayscale PNGs give one channel; everything else gives RGB
    /// (an alpha channel, if any, is dropped without compositing).
    /// </summary>
    public static byte[] LoadChw(string path, out int c, out int h, out int w)
    {
        using var codec = SKCodec.Create(path)
            ?? throw new InvalidDataException($"'{path}' is not a readable image.");
        bool gray = codec.Info.ColorType == SKColorType.Gray8;
        h = codec.Info.Height;
        w = codec.Info.Width;
        c = gray ? 1 : 3;

        // No color space on the target: decode the stored values as-is, without color management.
        var target = new SKImageInfo(w, h, gray ? SKColorType.Gray8 : SKColorType.Rgba8888,
            gray ? SKAlphaType.Opaque : SKAlphaType.Unpremul);
        var decoded = new byte[target.BytesSize];
        var result = codec.GetPixels(target, decoded);
        if (result is not (SKCodecResult.Success or SKCodecResult.IncompleteInput))
            throw new InvalidDataException($"Decoding '{path}' failed: {result}.");
        if (gray) return decoded;

        int plane = h * w;
        var chw = new byte[3 * plane];
        for (int i = 0; i < plane; i++)
        {
            chw[i] = decoded[4 * i];
            chw[plane + i] = decoded[4 * i + 1];
            chw[2 * plane + i] = decoded[4 * i + 2];
        }
        return chw;
    }

    /// <summary>
    /// Size of the grid produced by <see cref="MakeGrid"/>, following torchvision's make_grid:
    /// <c>cols*(w+padding)+padding</c> by <c>rows*(h+padding)+padding</c>, all times <paramref name="scale"/>.
    /// </summary>
    public static (int Height, int Width, int Rows, int Columns) GridSize(
        int n, int h, int w, int? columns = null, int padding = 2, int scale = 1)
    {
        if (n < 1) throw new ArgumentOutOfRangeException(nameof(n), n, "A grid needs at least one image.");
        if (h < 1 || w < 1) throw new ArgumentOutOfRangeException(nameof(h), "Image height and width must be positive.");
        if (padding < 0) throw new ArgumentOutOfRangeException(nameof(padding), padding, "Padding cannot be negative.");
        if (scale < 1) throw new ArgumentOutOfRangeException(nameof(scale), scale, "Scale must be at least 1.");
        if (columns is < 1) throw new ArgumentOutOfRangeException(nameof(columns), columns, "Columns must be at least 1.");

        // Default to a near-square layout; never more columns than images (as make_grid does).
        int cols = Math.Min(columns ?? (int)Math.Ceiling(Math.Sqrt(n)), n);
        int rows = (n + cols - 1) / cols;
        long height = ((long)rows * (h + padding) + padding) * scale;
        long width = ((long)cols * (w + padding) + padding) * scale;
        if (height > int.MaxValue / 4 || width > int.MaxValue / 4 || height * width > int.MaxValue / 4)
            throw new ArgumentException("The grid would be too large for a single PNG.");
        return ((int)height, (int)width, rows, cols);
    }

    /// <summary>
    /// Tiles a batch (N,C,H,W) into one planar image, row-major, with <paramref name="padding"/> pixels of
    /// <paramref name="padValue"/> around and between images, then upscales by <paramref name="scale"/>
    /// (nearest neighbour, so small samples such as 28x28 digits stay crisp).
    /// </summary>
    public static byte[] MakeGrid(byte[] batchNchw, int n, int c, int h, int w, out int gridHeight, out int gridWidth,
        int? columns = null, int padding = 2, int scale = 1, byte padValue = 0)
    {
        ArgumentNullException.ThrowIfNull(batchNchw);
        CheckShape(c, h, w);
        var (gh, gw, _, cols) = GridSize(n, h, w, columns, padding, scale);
        CheckLength(batchNchw, (long)n * c * h * w, nameof(batchNchw));

        // Build at scale 1 first, then upscale the whole grid (padding included) in one pass.
        int baseH = gh / scale, baseW = gw / scale;
        var grid = new byte[c * baseH * baseW];
        if (padValue != 0) Array.Fill(grid, padValue);

        for (int k = 0; k < n; k++)
        {
            int top = (k / cols) * (h + padding) + padding;
            int left = (k % cols) * (w + padding) + padding;
            for (int ch = 0; ch < c; ch++)
            {
                int src = ((k * c) + ch) * h * w;
                int dstPlane = ch * baseH * baseW;
                for (int y = 0; y < h; y++)
                    Array.Copy(batchNchw, src + y * w, grid, dstPlane + (top + y) * baseW + left, w);
            }
        }

        gridHeight = gh;
        gridWidth = gw;
        return scale == 1 ? grid : Upscale(grid, c, baseH, baseW, scale);
    }

    /// <summary>Saves a batch (N,C,H,W) of planar bytes as one grid PNG. See <see cref="MakeGrid"/>.</summary>
    public static void SaveGrid(string path, byte[] batchNchw, int n, int c, int h, int w,
        int? columns = null, int padding = 2, int scale = 1, byte padValue = 0)
    {
        byte[] grid = MakeGrid(batchNchw, n, c, h, w, out int gh, out int gw, columns, padding, scale, padValue);
        Save(path, grid, c, gh, gw);
    }

    /// <summary>
    /// Saves a batch tensor (B,C,H,W) or a single image (C,H,W) as one grid PNG. Values are expected in
    /// 0..255 (uint8 or int64); anything outside is clamped, floating-point values are rounded first.
    /// </summary>
    public static void SaveGrid(string path, torch.Tensor images,
        int? columns = null, int padding = 2, int scale = 1, byte padValue = 0)
    {
        byte[] bytes = ToBytes(images, out int n, out int c, out int h, out int w);
        SaveGrid(path, bytes, n, c, h, w, columns, padding, scale, padValue);
    }

    /// <summary>
    /// Saves each image of a batch (N,C,H,W) to <c>directory/prefix_0000.png</c>, <c>prefix_0001.png</c>, ...
    /// and returns the paths in batch order.
    /// </summary>
    public static IReadOnlyList<string> SaveAll(string directory, string prefix, byte[] batchNchw,
        int n, int c, int h, int w, int scale = 1)
    {
        ArgumentNullException.ThrowIfNull(batchNchw);
        ArgumentNullException.ThrowIfNull(prefix);
        CheckShape(c, h, w);
        if (n < 0) throw new ArgumentOutOfRangeException(nameof(n), n, "Image count cannot be negative.");
        if (scale < 1) throw new ArgumentOutOfRangeException(nameof(scale), scale, "Scale must be at least 1.");
        CheckLength(batchNchw, (long)n * c * h * w, nameof(batchNchw));

        Directory.CreateDirectory(directory);
        int size = c * h * w;
        var paths = new string[n];
        for (int k = 0; k < n; k++)
        {
            var image = new byte[size];
            Array.Copy(batchNchw, k * size, image, 0, size);
            if (scale > 1) image = Upscale(image, c, h, w, scale);
            paths[k] = Path.Combine(directory, $"{prefix}_{k:D4}.png");
            Save(paths[k], image, c, h * scale, w * scale);
        }
        return paths;
    }

    /// <summary>Tensor overload of <see cref="SaveAll(string,string,byte[],int,int,int,int,int)"/>.</summary>
    public static IReadOnlyList<string> SaveAll(string directory, string prefix, torch.Tensor images, int scale = 1)
    {
        byte[] bytes = ToBytes(images, out int n, out int c, out int h, out int w);
        return SaveAll(directory, prefix, bytes, n, c, h, w, scale);
    }

    /// <summary>Copies a (B,C,H,W) or (C,H,W) tensor to planar bytes, clamped to 0..255.</summary>
    public static byte[] ToBytes(torch.Tensor images, out int n, out int c, out int h, out int w)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (images.dim() is not (3 or 4))
            throw new ArgumentException($"Expected a (B,C,H,W) or (C,H,W) tensor, got shape [{string.Join(", ", images.shape)}].", nameof(images));

        using var scope = torch.NewDisposeScope();
        var t = images.detach().cpu();
        if (t.dim() == 3) t = t.unsqueeze(0);
        if (t.is_floating_point()) t = t.round();
        if (t.dtype != torch.uint8) t = t.clamp(0, 255).to(torch.uint8);
        t = t.contiguous();

        n = (int)t.shape[0];
        c = (int)t.shape[1];
        h = (int)t.shape[2];
        w = (int)t.shape[3];
        return t.data<byte>().ToArray();
    }

    static byte[] Upscale(byte[] chw, int c, int h, int w, int scale)
    {
        int outW = w * scale, outH = h * scale;
        var result = new byte[c * outH * outW];
        for (int ch = 0; ch < c; ch++)
        {
            for (int y = 0; y < h; y++)
            {
                int srcRow = (ch * h + y) * w;
                int firstDstRow = (ch * outH + y * scale) * outW;
                for (int x = 0; x < w; x++)
                    result.AsSpan(firstDstRow + x * scale, scale).Fill(chw[srcRow + x]);
                // The other scale-1 output rows are copies of the first.
                for (int r = 1; r < scale; r++)
                    Array.Copy(result, firstDstRow, result, firstDstRow + r * outW, outW);
            }
        }
        return result;
    }

    static void CheckShape(int channels, int height, int width)
    {
        if (channels is not (1 or 3))
            throw new ArgumentOutOfRangeException(nameof(channels), channels, "Only 1 (grayscale) or 3 (RGB) channels are supported.");
        if (height < 1) throw new ArgumentOutOfRangeException(nameof(height), height, "Height must be positive.");
        if (width < 1) throw new ArgumentOutOfRangeException(nameof(width), width, "Width must be positive.");
    }

    static void CheckLength(byte[] data, long expected, string name)
    {
        if (data.LongLength != expected)
            throw new ArgumentException($"Expected {expected} bytes for the given shape, got {data.LongLength}.", name);
    }
}
