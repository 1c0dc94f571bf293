using DenseFlow.Data;

namespace DenseFlow.Tests.Data;

public sealed class DatasetsTests
{
    [Fact]
    public void Names_HaveDefaults()
    {
        Assert.Equal(["fashion-mnist", "mnist", "cifar10", "imagenet32", "imagenet64", "celeba", "folder"], Datasets.Names);
        Assert.Equal("/usr/share/datasets/fashion-mnist", Datasets.DefaultDirectory("fashion-mnist"));
        Assert.Equal(Augmentation.Flip, DatasetDefaults.Augmentation("fashion-mnist"));
        Assert.Equal(Augmentation.None, DatasetDefaults.Augmentation("mnist"));
        Assert.Equal(Augmentation.FlipAndShift, DatasetDefaults.Augmentation("cifar10"));
        Assert.Equal(Augmentation.FlipAndShift, DatasetDefaults.Augmentation("imagenet64"));
        Assert.Equal(Augmentation.Flip, DatasetDefaults.Augmentation("celeba"));
        Assert.Equal(Augmentation.None, DatasetDefaults.Augmentation("folder"));
    }

    [Fact]
    public void UnknownNameSplitOrDirectory_Throw()
    {
        using var dir = new TempDirectory();
        Assert.Contains("unknown dataset 'svhn'", Assert.Throws<DatasetException>(() => Datasets.Open("svhn", dir.Path, "train")).Message);
        Assert.Contains("split 'valid'", Assert.Throws<DatasetException>(() => Datasets.Open("cifar10", dir.Path, "valid")).Message);
        string missing = dir.Combine("missing");
        Assert.Contains(missing, Assert.Throws<DatasetException>(() => Datasets.Open("cifar10", missing, "train")).Message);
        Assert.Throws<DatasetException>(() => Datasets.Open("folder", null, "train"));
    }
}
