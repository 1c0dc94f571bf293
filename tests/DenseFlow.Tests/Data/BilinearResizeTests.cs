using DenseFlow.Data;

namespace DenseFlow.Tests.Data;

/// <summary>
/// Expected values were produced by Pillow 9.4 (Debian python3-pil) with
/// <c>Image.resize(size, Image.BILINEAR)</c> on the same synthetic RGB image.
/// </summary>
public sealed class BilinearResizeTests
{
    private static byte[] Synthetic(int width, int height)
    {
        var rgb = new byte[width * height * 3];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
                for (int c = 0; c < 3; c++)
                    rgb[(y * width + x) * 3 + c] = (byte)((x * 37 + y * 59 + c * 101 + x * y % 13) % 256);
        return rgb;
    }

    private static (long Sum, long Weighted) Checksum(byte[] data)
    {
        long sum = 0, weighted = 0;
        for (int i = 0; i < data.Length; i++)
        {
            sum += data[i];
            weighted = (weighted + (long)(i + 1) * data[i]) % 1_000_000_007;
        }
        return (sum, weighted);
    }

    [Fact]
    public void Downscale_MatchesPillow()
    {
        byte[] expected =
        [
            53, 154, 127, 129, 163, 86, 170, 99, 153, 67, 135, 159, 131, 120, 83, 154, 90, 151, 106, 146, 107, 120, 145, 83,
            141, 79, 152, 80, 147, 135, 132, 157, 87, 175, 98, 153, 87, 153, 134, 129, 189, 82, 160, 88, 161, 92, 132, 174,
        ];
        Assert.Equal(expected, BilinearResize.Resize(Synthetic(9, 6), 9, 6, 3, 4, 4));
    }

    [Fact]
    public void Upscale_MatchesPillow()
    {
        byte[] expected =
        [
            0, 101, 202, 16, 117, 218, 39, 140, 225, 62, 163, 88, 86, 187, 32, 109, 210, 55, 132, 233, 78, 148, 249, 94,
            8, 109, 174, 25, 126, 190, 48, 149, 199, 71, 172, 85, 95, 184, 41, 118, 185, 64, 141, 205, 87, 157, 221, 103,
            34, 135, 89, 50, 151, 106, 73, 174, 122, 97, 198, 77, 121, 176, 67, 144, 108, 90, 167, 122, 113, 184, 139, 130,
            59, 160, 5, 76, 177, 22, 99, 200, 45, 123, 224, 69, 147, 168, 93, 171, 32, 117, 194, 39, 140, 211, 56, 157,
            84, 185, 30, 101, 154, 47, 125, 116, 71, 149, 140, 95, 173, 119, 119, 198, 52, 144, 159, 66, 167, 128, 83, 184,
            110, 211, 56, 127, 132, 73, 150, 32, 96, 175, 57, 121, 199, 69, 145, 224, 71, 170, 125, 93, 194, 46, 110, 211,
            118, 219, 64, 135, 124, 81, 159, 4, 105, 184, 29, 130, 208, 53, 154, 233, 78, 179, 113, 102, 203, 18, 119, 220,
        ];
        Assert.Equal(expected, BilinearResize.Resize(Synthetic(5, 3), 5, 3, 3, 8, 7));
    }

    [Fact]
    public void CelebAPipelines_MatchPillow()
    {
        var image = Synthetic(178, 218);

        Assert.Equal((1565205L, 626763046L), Checksum(BilinearResize.Resize(image, 178, 218, 3, 64, 64)));

        var cropped = ImageFiles.CenterCrop(image, 178, 218, 3, 148, 148);
        Assert.Equal((1564906L, 625900537L), Checksum(BilinearResize.Resize(cropped, 148, 148, 3, 64, 64)));

        var luma = ImageFiles.Luma(image);
        Assert.Equal((521529L, 69380217L), Checksum(BilinearResize.Resize(luma, 178, 218, 1, 64, 64)));
    }

    [Fact]
    public void SameSize_IsIdentity()
    {
        var image = Synthetic(6, 4);
        Assert.Equal(image, BilinearResize.Resize(image, 6, 4, 3, 6, 4));
    }
}
