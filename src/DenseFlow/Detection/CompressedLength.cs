using DenseFlow.Data;
using SkiaSharp;

namespace DenseFlow.Detection;

/// <summary>
/// L(x): the length of an image losslessly compressed by a real codec, through SkiaSharp. One-channel
/// images are encoded as 8-bit grayscale, three-channel ones as opaque RGB; the pixels are the
/// model's input (the image at the model's size), so L(x)/D is in bits per dimension like the model's bpd.
/// </summary>
public static class CompressedLength
{
    /// <summary>The encoded file of one CHW image.</summary>
    public static byte[] Encode(ReadOnlySpan<byte> chw, ImageShape shape, LosslessCodec codec)
    {
        if (chw.Length != shape.Size) throw new ArgumentException($"image has {chw.Length} bytes, expected {shape.Size} for {shape}");
        if (shape.Channels is not (1 or 3)) throw new ArgumentException($"the codecs take 1 or 3 channels, got {shape.Channels}");
        var (info, pixels) = Imaging.Png.SkiaPixels(chw, shape.Channels, shape.Height, shape.Width);
        unsafe
        {
            fixed (byte* p = pixels)
            {
                using var pixmap = new SKPixmap(info, (IntPtr)p, info.RowBytes);
                using var data = codec switch
                {
                    LosslessCodec.Png => pixmap.Encode(new SKPngEncoderOptions(SKPngEncoderFilterFlags.AllFilters, 9)),
                    LosslessCodec.Webp => pixmap.Encode(new SKWebpEncoderOptions(SKWebpEncoderCompression.Lossless, 100)),
                    _ => throw new ArgumentOutOfRangeException(nameof(codec)),
                } ?? throw new InvalidOperationException($"SkiaSharp could not encode a {shape} image as {codec}");
                return data.ToArray();
            }
        }
    }

    /// <summary>L(x)/D: compressed bits per dimension of one CHW image.</summary>
    public static double BitsPerDim(ReadOnlySpan<byte> chw, ImageShape shape, LosslessCodec codec) =>
        Encode(chw, shape, codec).Length * 8.0 / shape.Size;

    /// <summary>L(x)/D of every image of a dataset, in parallel (each image is independent).</summary>
    public static double[] BitsPerDim(IImageDataset dataset, LosslessCodec codec)
    {
        var result = new double[dataset.Count];
        Parallel.For(0, dataset.Count, () => new byte[dataset.Shape.Size], (i, _, buffer) =>
        {
            dataset.CopyImage(i, buffer);
            result[i] = BitsPerDim(buffer, dataset.Shape, codec);
            return buffer;
        }, _ => { });
        return result;
    }
}
