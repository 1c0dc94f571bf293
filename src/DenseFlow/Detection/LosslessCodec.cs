using DenseFlow.Data;
using SkiaSharp;

namespace DenseFlow.Detection;

/// <summary>The lossless codecs the complexity score can measure an image with.</summary>
public enum LosslessCodec
{
    /// <summary>PNG at zlib level 9 with every row filter tried (Serrà et al. 2020 used PNG and JPEG2000).</summary>
    Png,
    /// <summary>Lossless WebP at maximum effort (Skia's libwebp).</summary>
    Webp,
}
