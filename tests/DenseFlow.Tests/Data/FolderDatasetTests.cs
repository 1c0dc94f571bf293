using DenseFlow.Data;

namespace DenseFlow.Tests.Data;

public sealed class FolderDatasetTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static (byte, byte, byte) Pixel(int id, int x, int y) => ((byte)(id * 40 + x), (byte)(id * 7 + y * 3), (byte)(255 - id - x - y));

    private void WriteFolder()
    {
        // Top-level file plus two class folders, written out of order; also a non-image file.
        TestFiles.WriteImage(_dir.Combine("dogs", "b.png"), 4, 4, (x, y) => Pixel(3, x, y));
        TestFiles.WriteImage(_dir.Combine("cats", "z.png"), 4, 4, (x, y) => Pixel(2, x, y));
        TestFiles.WriteImage(_dir.Combine("cats", "a.PNG"), 4, 4, (x, y) => Pixel(1, x, y));
        TestFiles.WriteImage(_dir.Combine("top.png"), 4, 4, (x, y) => Pixel(0, x, y));
        File.WriteAllText(_dir.Combine("cats", "notes.txt"), "ignored");
    }

    [Fact]
    public void Reads_InSortedOrder_WithExactRgbPixels()
    {
        WriteFolder();
        var ds = Datasets.Open("folder", _dir.Path, "train");
        Assert.Equal(new ImageShape(3, 4, 4), ds.Shape); // size inferred from the first image
        Assert.Equal(4, ds.Count);

        // Order: top.png, cats/a.PNG, cats/z.png, dogs/b.png.
        for (int id = 0; id < 4; id++)
        {
            var image = TestFiles.Image(ds, id);
            for (int y = 0; y < 4; y++)
                for (int x = 0; x < 4; x++)
                {
                    var (r, g, b) = Pixel(id, x, y);
                    Assert.Equal(r, image[y * 4 + x]);
                    Assert.Equal(g, image[16 + y * 4 + x]);
                    Assert.Equal(b, image[32 + y * 4 + x]);
                }
        }
    }

    [Fact]
    public void Grayscale_UsesLuma_AndResizes()
    {
        WriteFolder();
        var gray = Datasets.Open("folder", _dir.Path, "test", new DatasetOptions { Channels = 1 });
        Assert.Equal(new ImageShape(1, 4, 4), gray.Shape);
        var (r, g, b) = Pixel(2, 1, 3);
        Assert.Equal((byte)((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16), TestFiles.Image(gray, 2)[3 * 4 + 1]);

        var small = Datasets.Open("folder", _dir.Path, "train", new DatasetOptions { ImageSize = 2, Limit = 2 });
        Assert.Equal(new ImageShape(3, 2, 2), small.Shape);
        Assert.Equal(2, small.Count);
        // A 2× reduction of a channel that is constant along y and linear in x: PIL weights (.75,.75,.25)/1.75.
        var first = TestFiles.Image(small, 1);
        Assert.Equal((byte)Math.Round((0.75 * 40 + 0.75 * 41 + 0.25 * 42) / 1.75), first[0]);
    }

    [Fact]
    public void UnreadableImage_ThrowsNamingIt()
    {
        WriteFolder();
        File.WriteAllText(_dir.Combine("dogs", "broken.jpg"), "not a jpeg");

        var ds = Datasets.Open("folder", _dir.Path, "train");
        var e = Assert.Throws<DatasetException>(() => TestFiles.Image(ds, 4));
        Assert.Contains("broken.jpg", e.Message);
    }

    [Fact]
    public void EmptyFolder_Throws()
    {
        var e = Assert.Throws<DatasetException>(() => Datasets.Open("folder", _dir.Path, "train"));
        Assert.Contains(_dir.Path, e.Message);
    }
}
