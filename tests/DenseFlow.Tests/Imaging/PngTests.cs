using DenseFlow.Imaging;
using TorchSharp;

namespace DenseFlow.Tests.Imaging;

public sealed class PngTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("denseflow-png-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    static byte[] Pattern(int length, int seed)
    {
        var data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }

    [Theory]
    [InlineData(1, 7, 5)]
    [InlineData(3, 7, 5)]
    [InlineData(1, 1, 1)]
    [InlineData(3, 32, 32)]
    public void RoundTripIsExact(int c, int h, int w)
    {
        byte[] chw = Pattern(c * h * w, seed: c * 1000 + h);
        string path = Path.Combine(_dir, "img.png");

        Png.Save(path, chw, c, h, w);
        byte[] back = Png.LoadChw(path, out int c2, out int h2, out int w2);

        Assert.Equal((c, h, w), (c2, h2, w2));
        Assert.Equal(chw, back);
        Assert.False(File.Exists(path + ".tmp"));
    }

    [Fact]
    public void RgbChannelsAreNotSwapped()
    {
        // 1x1 pure red: a BGR/RGB mix-up would show up as blue.
        string path = Path.Combine(_dir, "red.png");
        Png.Save(path, [255, 0, 0], 3, 1, 1);
        Assert.Equal(new byte[] { 255, 0, 0 }, Png.LoadChw(path, out _, out _, out _));
    }

    [Fact]
    public void SaveOverwritesAtomically()
    {
        string path = Path.Combine(_dir, "sub", "img.png"); // parent is created on demand
        Png.Save(path, new byte[4], 1, 2, 2);
        Png.Save(path, [1, 2, 3, 4], 1, 2, 2);
        Assert.Equal(new byte[] { 1, 2, 3, 4 }, Png.LoadChw(path, out _, out _, out _));
        Assert.Single(Directory.GetFiles(Path.GetDirectoryName(path)!));
    }

    [Fact]
    public void RejectsBadShapes()
    {
        string path = Path.Combine(_dir, "bad.png");
        Assert.Throws<ArgumentOutOfRangeException>(() => Png.Save(path, new byte[8], 2, 2, 2));
        Assert.Throws<ArgumentException>(() => Png.Save(path, new byte[5], 1, 2, 2));
        Assert.False(File.Exists(path));
    }

    [Fact]
    public void GridSizeFollowsMakeGrid()
    {
        // 10 images of 28x28 in 4 columns -> 3 rows; each cell is 28+2, plus the outer padding of 2.
        var (h, w, rows, cols) = Png.GridSize(10, 28, 28, columns: 4, padding: 2);
        Assert.Equal((3, 4), (rows, cols));
        Assert.Equal(3 * 30 + 2, h);
        Assert.Equal(4 * 30 + 2, w);

        // Default is near-square: ceil(sqrt(10)) = 4 columns; scale multiplies everything.
        Assert.Equal((92 * 3, 122 * 3, 3, 4), Png.GridSize(10, 28, 28, scale: 3));
        // Never more columns than images.
        Assert.Equal((1, 3), (Png.GridSize(3, 8, 8, columns: 8).Rows, Png.GridSize(3, 8, 8, columns: 8).Columns));
    }

    [Fact]
    public void GridPlacesImagesRowMajorWithPadding()
    {
        const int n = 10, c = 1, h = 28, w = 28, pad = 2;
        var batch = new byte[n * c * h * w];
        // Image k is filled with value 10+k, and image 6 gets a marker pixel at (y=3, x=5).
        for (int k = 0; k < n; k++) batch.AsSpan(k * h * w, h * w).Fill((byte)(10 + k));
        batch[6 * h * w + 3 * w + 5] = 255;

        string path = Path.Combine(_dir, "grid.png");
        Png.SaveGrid(path, batch, n, c, h, w, columns: 4, padding: pad);
        byte[] grid = Png.LoadChw(path, out int gc, out int gh, out int gw);
        Assert.Equal((1, 92, 122), (gc, gh, gw));

        byte At(int y, int x) => grid[y * gw + x];
        // Image 6 is row 1, column 2: its top-left is at (pad + 1*(h+pad), pad + 2*(w+pad)) = (32, 62).
        Assert.Equal(255, At(32 + 3, 62 + 5));
        Assert.Equal(16, At(32, 62));
        Assert.Equal(10, At(2, 2));            // image 0
        Assert.Equal(19, At(62 + 27, 32 + 27)); // image 9 (row 2, column 1), bottom-right pixel
        Assert.Equal(0, At(0, 0));             // outer padding
        Assert.Equal(0, At(2, 30));            // gap between image 0 and 1
        Assert.Equal(0, At(70, 100));          // empty cells of the last row are padding colour
    }

    [Fact]
    public void GridScaleAndRgbKeepPixelPositions()
    {
        // Two 2x2 RGB images, scale 3: pixel (y=1, x=0) of image 1 covers a 3x3 block.
        const int n = 2, c = 3, h = 2, w = 2, pad = 1, scale = 3;
        var batch = new byte[n * c * h * w];
        int plane = h * w;
        int img1 = 1 * c * plane;
        batch[img1 + 0 * plane + 1 * w + 0] = 200; // R
        batch[img1 + 1 * plane + 1 * w + 0] = 100; // G
        batch[img1 + 2 * plane + 1 * w + 0] = 50;  // B

        byte[] grid = Png.MakeGrid(batch, n, c, h, w, out int gh, out int gw, columns: 2, padding: pad, scale: scale, padValue: 7);
        Assert.Equal(((1 * 3 + 1) * 3, (2 * 3 + 1) * 3), (gh, gw));

        int gp = gh * gw;
        int top = (pad + 1) * scale, left = (pad + (w + pad) + 0) * scale;
        for (int dy = 0; dy < scale; dy++)
            for (int dx = 0; dx < scale; dx++)
            {
                int i = (top + dy) * gw + left + dx;
                Assert.Equal((200, 100, 50), (grid[i], grid[gp + i], grid[2 * gp + i]));
            }
        Assert.Equal(7, grid[0]);
    }

    [Fact]
    public void SaveAllWritesNumberedFiles()
    {
        byte[] batch = Pattern(3 * 3 * 4 * 5, seed: 1);
        var paths = Png.SaveAll(Path.Combine(_dir, "samples"), "sample", batch, 3, 3, 4, 5);

        Assert.Equal(["sample_0000.png", "sample_0001.png", "sample_0002.png"], paths.Select(Path.GetFileName));
        byte[] second = Png.LoadChw(paths[1], out int c, out int h, out int w);
        Assert.Equal((3, 4, 5), (c, h, w));
        Assert.Equal(batch.AsSpan(60, 60).ToArray(), second);
    }

    [Fact]
    public void TensorGridMatchesByteGrid()
    {
        // int64 values 0..255 as the sampler produces them; out-of-range values are clamped.
        var t = torch.arange(2 * 1 * 3 * 4, dtype: torch.int64).reshape(2, 1, 3, 4) * 11;
        byte[] expected = t.clamp(0, 255).to(torch.uint8).data<byte>().ToArray();

        string a = Path.Combine(_dir, "tensor.png"), b = Path.Combine(_dir, "bytes.png");
        Png.SaveGrid(a, t, columns: 2);
        Png.SaveGrid(b, expected, 2, 1, 3, 4, columns: 2);

        Assert.Equal(Png.LoadChw(b, out _, out _, out _), Png.LoadChw(a, out int c, out int h, out int w));
        Assert.Equal((1, 1 * (3 + 2) + 2, 2 * (4 + 2) + 2), (c, h, w));
        // Out-of-range values are clamped rather than wrapped.
        Assert.Equal(new byte[] { 0, 255 }, Png.ToBytes(torch.tensor(new long[] { -5, 300 }).reshape(1, 1, 1, 2), out _, out _, out _, out _));
    }
}
