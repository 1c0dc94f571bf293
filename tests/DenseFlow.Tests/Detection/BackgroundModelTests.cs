using DenseFlow.Data;
using DenseFlow.Detection;
using DenseFlow.Model;
using DenseFlow.Training;
using static DenseFlow.Tests.Data.TestFiles;

namespace DenseFlow.Tests.Detection;

/// <summary>The default background model of `train-background` (the one users get without --preset/--config) and its data.</summary>
public class BackgroundModelTests
{
    public static IEnumerable<object[]> PresetNames => Presets.Names.Select(n => new object[] { n });

    [Theory]
    [MemberData(nameof(PresetNames))]
    public void TheDefaultBackgroundOfEveryPreset_IsAValidOneUnitFlowOfTheSameImages(string preset)
    {
        var main = Presets.Get(preset);
        var background = BackgroundModel.ConfigFor(main);
        var plan = background.Plan();
        Assert.Equal(main.InputShape, background.InputShape);
        Assert.Equal(main.UnitsPerBlock.Length, plan.Blocks.Count);
        Assert.All(background.UnitsPerBlock, u => Assert.Equal(1, u));
        Assert.All(background.ModulesPerUnit, m => Assert.Equal(1, m));
        Assert.Equal(main.NumBits, background.NumBits);
    }

    [Fact]
    public void TheCpuPresetsBackground_IsAFractionOfTheModel()
    {
        using var main = new DenseFlowModel(Presets.Get("fmnist-cpu"));
        using var background = new DenseFlowModel(BackgroundModel.ConfigFor(main.Config));
        // "Deliberately small" (docs/OOD.md): it should capture local statistics, not the garments.
        Assert.True(background.ParameterCount * 20 < main.ParameterCount, $"{background.ParameterCount} of {main.ParameterCount} parameters");
    }

    [Fact]
    public void OnlyTheTrainingImagesAreMutated()
    {
        var options = new TrainingOptions { Dataset = Datasets.FashionMnist.Name, TrainLimit = 8, Mutation = 0.5, Seed = 3 };
        var clean = Datasets.Open(options.Dataset, null, "train", new DatasetOptions { Limit = 8 });
        var train = TrainingData.Open(options, "train");
        int changed = 0, total = 0;
        for (int i = 0; i < 8; i++)
        {
            var a = Image(clean, i);
            var b = Image(train, i);
            changed += a.Zip(b).Count(p => p.First != p.Second);
            total += a.Length;
        }
        // µ = 0.5 replaces half the pixels by uniform values; a replacement equal to the old value (1 in 256) does not show.
        Assert.InRange(changed / (double)total, 0.45, 0.55);

        var cleanTest = Datasets.Open(options.Dataset, null, "test", new DatasetOptions { Limit = 8 });
        var test = TrainingData.Open(options, "test");
        for (int i = 0; i < 8; i++) Assert.Equal(Image(cleanTest, i), Image(test, i));
    }
}
