using SkiaSharp;

namespace DenseFlow.Data;

/// <summary>Decoding image files to 8-bit pixels and preparing them as CHW dataset images.</summary>
public static class ImageFiles
{
    /// <summary>Extensions (lower case) recognised as images in folder datasets.</summary>
    public static readonly string[] Extensions = [".png", ".jpg", ".jpeg"];

    /// <summary>Width and height from the file header, without decoding the pixels.</summary>
    public static (int Width, int Height) ReadSize(string path)
    {
        using var codec = OpenCodec(path);
        return (codec.Info.Width, codec.Info.Height);
    }

    /// <summary>
    /// Decodes a PNG or JPEG into interleaved RGB bytes (HWC). Alpha is dropped without blending and
    /// no colour management or EXIF rotation is applied, matching PIL's <c>Image.open(p).convert("RGB")</c>.
    /// </summary>
    public static unsafe byte[] DecodeRgb(string path, out int width, out int height)
    {
        using var codec = OpenCodec(path);
        var info = new SKImageInfo(codec.Info.Width, codec.Info.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        width = info.Width;
        height = info.Height;

        var rgba = new byte[info.BytesSize];
        SKCodecResult result;
        fixed (byte* p = rgba)
            result = codec.GetPixels(info, (IntPtr)p);
        if (result != SKCodecResult.Success)
            throw new DatasetException($"{path}: cannot decode image ({result}; expected a complete PNG or JPEG file)");

        int pixels = width * height;
        var rgb = new byte[pixels * 3];
        for (int i = 0; i < pixels; i++)
        {
            rgb[3 * i] = rgba[4 * i];
            rgb[3 * i + 1] = rgba[4 * i + 1];
            rgb[3 * i + 2] = rgba[4 * i + 2];
        }
        return rgb;
    }

    /// <summary>
    /// Loads an image file as a <paramref name="size"/>×<paramref name="size"/> CHW image with 1 (luma) or 3 (RGB)
    /// channels: optional centre crop, then <see cref="BilinearResize"/> (aspect ratio not preserved).
    /// </summary>
    public static void LoadChw(string path, int size, int channels, int? centerCrop, Span<byte> chw)
    {
        var rgb = DecodeRgb(path, out int width, out int height);
        if (centerCrop is int crop)
        {
            if (crop > width || crop > height)
                throw new DatasetException($"{path}: image is {width}x{height} (expected at least {crop}x{crop} for the centre crop)");
            rgb = CenterCrop(rgb, width, height, 3, crop, crop);
            width = height = crop;
        }

        var pixels = channels switch
        {
            3 => rgb,
            1 => Luma(rgb),
            _ => throw new ArgumentOutOfRangeException(nameof(channels), channels, "Channels must be 1 or 3."),
        };
        if (width != size || height != size)
            pixels = BilinearResize.Resize(pixels, width, height, channels, size, size);
        InterleavedToPlanar(pixels, channels, chw);
    }

    /// <summary>Crops the centre, placing the box like torchvision's CenterCrop (offsets rounded half to even).</summary>
    public static byte[] CenterCrop(byte[] hwc, int width, int height, int channels, int cropWidth, int cropHeight)
    {
        int top = (int)Math.Round((height - cropHeight) / 2.0, MidpointRounding.ToEven);
        int left = (int)Math.Round((width - cropWidth) / 2.0, MidpointRounding.ToEven);
        var result = new byte[cropWidth * cropHeight * channels];
        for (int y = 0; y < cropHeight; y++)
            hwc.AsSpan(((top + y) * width + left) * channels, cropWidth * channels)
                .CopyTo(result.AsSpan(y * cropWidth * channels));
        return result;
    }

    /// <summary>ITU-R 601-2 luma with PIL's fixed-point rounding: L = (19595 R + 38470 G + 7471 B + 0x8000) >> 16.</summary>
    public static byte[] Luma(byte[] rgb)
    {
        var luma = new byte[rgb.Length / 3];
        for (int i = 0; i < luma.Length; i++)
            luma[i] = (byte)((rgb[3 * i] * 19595 + rgb[3 * i + 1] * 38470 + rgb[3 * i + 2] * 7471 + 0x8000) >> 16);
        return luma;
    }

    /// <summary>HWC → CHW.</summary>
    public static void InterleavedToPlanar(ReadOnlySpan<byte> hwc, int channels, Span<byte> chw)
    {
        int pixels = hwc.Length / channels;
        if (chw.Length < hwc.Length) throw new ArgumentException("Destination is too small.", nameof(chw));
        for (int c = 0; c < channels; c++)
        {
            var plane = chw.Slice(c * pixels, pixels);
            for (int i = 0; i < pixels; i++) plane[i] = hwc[i * channels + c];
        }
    }

    private static SKCodec OpenCodec(string path)
    {
        if (!File.Exists(path)) throw new DatasetException($"{path}: image file not found");
        var codec = SKCodec.Create(path, out var result);
        if (codec is null)
            throw new DatasetException($"{path}: not a readable image ({result}; expected PNG or JPEG)");
        return codec;
    }
}
