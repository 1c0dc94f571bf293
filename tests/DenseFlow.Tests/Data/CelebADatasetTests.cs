using DenseFlow.Data;
using SkiaSharp;

namespace DenseFlow.Tests.Data;

public sealed class CelebADatasetTests : IDisposable
{
    private static readonly (byte R, byte G, byte B) Red = (200, 30, 40);
    private static readonly (byte R, byte G, byte B) Blue = (20, 60, 210);
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>
    /// Four 178×218 JPEGs, red with a blue centre square that overlaps the 148×148 centre crop
    /// (x 15..162, y 35..182) by 10 pixels on every side, so JPEG ringing at the edge stays outside the crop.
    /// </summary>
    private void WriteCelebA(string root)
    {
        for (int k = 1; k <= 4; k++)
            TestFiles.WriteImage(Path.Combine(root, "img_align_celeba", $"{k:D6}.jpg"), 178, 218,
                (x, y) => x is >= 5 and < 173 && y is >= 25 and < 193 ? Blue : Red,
                SKEncodedImageFormat.Jpeg, quality: 95);
        File.WriteAllLines(Path.Combine(root, "list_eval_partition.txt"),
            ["000001.jpg 0", "000002.jpg 1", "000003.jpg 0", "000004.jpg 2"]);
    }

    private static void AssertNear((byte R, byte G, byte B) color, byte[] chw, int pixel, int plane, int tolerance)
    {
        Assert.InRange(chw[pixel], color.R - tolerance, color.R + tolerance);
        Assert.InRange(chw[plane + pixel], color.G - tolerance, color.G + tolerance);
        Assert.InRange(chw[2 * plane + pixel], color.B - tolerance, color.B + tolerance);
    }

    [Fact]
    public void Splits_FollowPartitionFile_AndImagesAreResizedTo64()
    {
        WriteCelebA(_dir.Path);

        var train = Datasets.Open("celeba", _dir.Path, "train");
        Assert.Equal(2, train.Count);
        Assert.Equal(new ImageShape(3, 64, 64), train.Shape);
        Assert.Equal(1, Datasets.Open("celeba", _dir.Path, "valid").Count);
        Assert.Equal(1, Datasets.Open("celeba", _dir.Path, "test").Count);

        // Whole image squeezed to 64×64: corners stay red, the centre is blue.
        var image = TestFiles.Image(train, 1);
        AssertNear(Red, image, 0, 64 * 64, tolerance: 12);
        AssertNear(Red, image, 64 * 64 - 1, 64 * 64, tolerance: 12);
        AssertNear(Blue, image, 32 * 64 + 32, 64 * 64, tolerance: 12);
    }

    [Fact]
    public void CenterCrop_KeepsOnlyTheCentreSquare()
    {
        WriteCelebA(Path.Combine(_dir.Path, "celeba")); // torchvision layout

        var ds = Datasets.Open("celeba", _dir.Path, "train", new DatasetOptions { CelebACenterCrop = true, ImageSize = 32 });
        Assert.Equal(new ImageShape(3, 32, 32), ds.Shape);
        var image = TestFiles.Image(ds, 0);
        foreach (int pixel in new[] { 0, 31, 32 * 31, 32 * 32 - 1, 16 * 32 + 16 })
            AssertNear(Blue, image, pixel, 32 * 32, tolerance: 12);
    }

    [Fact]
    public void CorruptJpeg_ThrowsNamingImage()
    {
        WriteCelebA(_dir.Path);
        string broken = _dir.Combine("img_align_celeba", "000003.jpg");
        File.WriteAllBytes(broken, File.ReadAllBytes(broken)[..40]);

        var ds = Datasets.Open("celeba", _dir.Path, "train");
        var e = Assert.Throws<DatasetException>(() => TestFiles.Image(ds, 1));
        Assert.Contains("000003.jpg", e.Message);
    }

    [Fact]
    public void MalformedPartitionLine_ThrowsNamingFileAndLine()
    {
        WriteCelebA(_dir.Path);
        File.AppendAllText(_dir.Combine("list_eval_partition.txt"), "000005.jpg seven\n");

        var e = Assert.Throws<DatasetException>(() => Datasets.Open("celeba", _dir.Path, "train"));
        Assert.Contains("list_eval_partition.txt", e.Message);
        Assert.Contains("line 5", e.Message);
    }
}
