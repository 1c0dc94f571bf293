using DenseFlow.Data;

namespace DenseFlow.Tests.Data;

public sealed class DatasetsTests
{
    [Fact]
    public void Names_HaveDefaults()
    {
        Assert.Equal(["fashion-mnist", "mnist", "cifar10", "imagenet32", "imagenet64", "celeba", "folder"], Datasets.Names);
        Assert.Equal("/usr/share/datasets/fashion-mnist", Datasets.Get("fashion-mnist").DefaultDirectory);
        Assert.Equal(Path.Combine("data", "cifar10"), Datasets.Get("cifar10").DefaultDirectory);
        Assert.Null(Datasets.Get("folder").DefaultDirectory);
        // The reference training setup: flips for garments and faces, flips and shifts for natural images, nothing for digits and folders.
        Assert.Equal(Augmentation.Flip, Datasets.Get("fashion-mnist").TrainingAugmentation);
        Assert.Equal(Augmentation.None, Datasets.Get("mnist").TrainingAugmentation);
        Assert.Equal(Augmentation.FlipAndShift, Datasets.Get("cifar10").TrainingAugmentation);
        Assert.Equal(Augmentation.FlipAndShift, Datasets.Get("imagenet64").TrainingAugmentation);
        Assert.Equal(Augmentation.Flip, Datasets.Get("celeba").TrainingAugmentation);
        Assert.Equal(Augmentation.None, Datasets.Get("folder").TrainingAugmentation);
        Assert.Equal("fmnist-cpu", Datasets.Get("mnist").DefaultPreset);
        Assert.Equal("df-74-10", Datasets.Get("imagenet32").DefaultPreset);
        Assert.Equal(["fashion-mnist", "mnist"], Datasets.Labelled);
    }

    [Fact]
    public void EveryPresetNamedByTheRegistryExists()
    {
        foreach (var d in Datasets.All)
            Assert.Equal(d.DefaultPreset, DenseFlow.Model.Presets.Names.Single(p => p == d.DefaultPreset));
    }

    [Fact]
    public void UnknownNameSplitOrDirectory_Throw()
    {
        using var dir = new TempDirectory();
        var unknown = Assert.Throws<DatasetException>(() => Datasets.Open("svhn", dir.Path, "train")).Message;
        Assert.Contains("unknown dataset 'svhn'", unknown);
        Assert.All(Datasets.Names, n => Assert.Contains(n, unknown));
        Assert.Contains("unknown dataset 'svhn'", Assert.Throws<DatasetException>(() => Datasets.Get("svhn")).Message);
        Assert.Null(Datasets.Find("svhn"));
        Assert.Contains("split 'valid'", Assert.Throws<DatasetException>(() => Datasets.Open("cifar10", dir.Path, "valid")).Message);
        string missing = dir.Combine("missing");
        Assert.Contains(missing, Assert.Throws<DatasetException>(() => Datasets.Open("cifar10", missing, "train")).Message);
        Assert.Contains("directory of images is required", Assert.Throws<DatasetException>(() => Datasets.Open("folder", null, "train")).Message);
    }

    [Fact]
    public void EveryDatasetNamesAMissingOrEmptyDirectory()
    {
        using var dir = new TempDirectory();
        string missing = dir.Combine("missing");
        foreach (var d in Datasets.All)
        {
            var e = Assert.Throws<DatasetException>(() => Datasets.Open(d.Name, missing, "train"));
            Assert.Equal($"{missing}: {d.Name} directory not found", e.Message);
            // An existing but empty directory reaches the dataset's own reader, whose error names where it looked.
            string empty = dir.Combine("empty-" + d.Name);
            Directory.CreateDirectory(empty);
            var r = Assert.Throws<DatasetException>(() => Datasets.Open(d.Name, empty, "train"));
            Assert.Contains(empty, r.Message);
            Assert.DoesNotContain("directory not found", r.Message);
        }
    }

    [Fact]
    public void LabelledDatasetsOpenTheirImagesAndFilterByLabel()
    {
        using var dir = new TempDirectory();
        var pixels = TestFiles.Pattern(4 * 5 * 6, salt: 3);
        File.WriteAllBytes(dir.Combine("train-images-idx3-ubyte"), TestFiles.Idx(pixels, 4, 5, 6));
        var labels = new byte[8 + 4];
        labels[2] = 0x08; labels[3] = 0x01; labels[7] = 4; // IDX label header: magic 0x801, count 4
        (labels[8], labels[9], labels[10], labels[11]) = (3, 9, 3, 1);
        File.WriteAllBytes(dir.Combine("train-labels-idx1-ubyte"), labels);
        foreach (var d in Datasets.All.Where(d => d.Labelled))
        {
            var all = Datasets.Open(d.Name, dir.Path, "train");
            Assert.Equal(new ImageShape(1, 5, 6), all.Shape);
            Assert.Equal(4, all.Count);
            var threes = Datasets.Open(d.Name, dir.Path, "train", new DatasetOptions { Classes = [3] });
            Assert.Equal(2, threes.Count);
            Assert.Equal(pixels.AsSpan(2 * 30, 30).ToArray(), TestFiles.Image(threes, 1));
        }
        // An unlabelled dataset refuses a class filter and names the labelled ones.
        string folder = dir.Combine("images");
        Directory.CreateDirectory(folder);
        TestFiles.WriteImage(Path.Combine(folder, "a.png"), 4, 4, (x, y) => ((byte)x, (byte)y, 0));
        Assert.Equal(1, Datasets.Open("folder", folder, "train").Count);
        var e = Assert.Throws<DatasetException>(() => Datasets.Open("folder", folder, "train", new DatasetOptions { Classes = [3] }));
        Assert.Contains("fashion-mnist and mnist", e.Message);
    }
}
