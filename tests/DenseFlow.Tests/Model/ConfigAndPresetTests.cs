using System.Reflection;
using DenseFlow.Flows;
using DenseFlow.Model;
using TorchSharp;
using static TorchSharp.torch;
using static DenseFlow.Tests.Model.TestUtil;

namespace DenseFlow.Tests.Model;

/// <summary>SPEC §2 presets and parameter counts, configuration validation and JSON.</summary>
public sealed class ConfigAndPresetTests
{
    static int Modules(DenseFlowConfig c) => c.UnitsPerBlock.Zip(c.ModulesPerUnit, (u, m) => u * m).Sum();

    [Fact]
    public void DF74_10_HasTheDocumentedParameterCountAndWidths()
    {
        var config = Presets.Get("df-74-10");
        Assert.Equal(74, Modules(config));
        Assert.Equal(10, config.GrowthRate);
        var plan = config.Plan();
        Assert.Equal(new[] { 12, 22, 32, 42, 52, 62 }, plan.Blocks[0].UnitWidths);
        Assert.Equal((16, 16), (plan.Blocks[0].Height, plan.Blocks[0].Width));
        Assert.Equal(new[] { 124, 134, 144, 154 }, plan.Blocks[1].UnitWidths);
        Assert.Equal((8, 8), (plan.Blocks[1].Height, plan.Blocks[1].Width));
        Assert.Equal(new[] { 308 }, plan.Blocks[2].UnitWidths);
        Assert.Equal(new[] { 308, 4, 4 }, plan.LatentShape);

        using var scope = NewDisposeScope();
        using var model = new DenseFlowModel(config);
        Assert.Equal(130_647_294L, model.ParameterCount);
        Assert.Equal(2_395_784L, model.DequantizerParameterCount);
    }

    [Fact]
    public void OfficialSmall_HasTheFixtureParameterCount()
    {
        using var scope = NewDisposeScope();
        using var model = new DenseFlowModel(Presets.Get("official-small"));
        Assert.Equal(12_715_780L, model.ParameterCount);
        Assert.Equal(2_395_784L, model.DequantizerParameterCount);
        Assert.Equal(new[] { 72, 4, 4 }, model.Plan.LatentShape);
    }

    [Fact]
    public void EveryPreset_BuildsItsPlan()
    {
        var names = Presets.Names.ToList();
        Assert.Contains("df-74-10", names);
        Assert.Contains("df-45-6", names);
        for (int i = 1; i <= 6; i++) Assert.Contains($"ablation-{i}", names);
        foreach (var name in names)
        {
            Assert.True(Presets.Exists(name));
            Assert.False(string.IsNullOrWhiteSpace(Presets.Describe(name)));
            var plan = Presets.Get(name).Plan();
            Assert.Equal(Presets.Get(name).Blocks, plan.Blocks.Count);
            Assert.All(plan.LatentShape, v => Assert.True(v > 0));
        }
        var e = Assert.Throws<ConfigException>(() => Presets.Get("no-such-preset"));
        Assert.Contains("no-such-preset", e.Message);
    }

    [Fact]
    public void AblationPresets_FollowTable4()
    {
        var expected = new (AugmentationKind Aug, CouplingKind Coupling)[]
        {
            (AugmentationKind.None, CouplingKind.Glow), (AugmentationKind.White, CouplingKind.Glow),
            (AugmentationKind.Preconditioned, CouplingKind.Glow), (AugmentationKind.None, CouplingKind.Dense),
            (AugmentationKind.White, CouplingKind.Dense), (AugmentationKind.Preconditioned, CouplingKind.Dense),
        };
        for (int row = 1; row <= 6; row++)
        {
            var c = Presets.Get($"ablation-{row}");
            Assert.Equal(expected[row - 1].Aug, c.Augmentation);
            Assert.Equal(expected[row - 1].Coupling, c.Coupling);
            Assert.Equal(45, Modules(c)); // the module count stays the same across the ablations
            Assert.Equal([3, 32, 32], c.InputShape);
        }
        Assert.Equal([1, 1, 1], Presets.Get("ablation-1").UnitsPerBlock);
        Assert.Equal([15, 15, 15], Presets.Get("ablation-1").ModulesPerUnit);
        Assert.Equal(Presets.Get("df-45-6").ToJson(), Presets.Get("ablation-6").ToJson());
        Assert.Equal(6, Presets.Get("df-45-6").GrowthRate);
        // Without augmentation no channels are appended.
        Assert.All(Presets.Get("ablation-4").Plan().Blocks, b => Assert.All(b.UnitWidths, w => Assert.Equal(b.InChannels, w)));
    }

    static DenseFlowConfig TwoScale28(int[] landmarks) => TinyConfig() with
    {
        InputShape = [1, 28, 28], UnitsPerBlock = [2, 1], ModulesPerUnit = [1, 1], Landmarks = landmarks,
    };

    [Fact]
    public void TwoScale28x28_BuildsAndRoundTripsTheKeptPath()
    {
        var plan = TwoScale28([4, 7]).Plan();
        Assert.Equal((14, 14), (plan.Blocks[0].Height, plan.Blocks[0].Width));
        Assert.Equal((7, 7), (plan.Blocks[1].Height, plan.Blocks[1].Width));
        Assert.Equal(7, plan.Blocks[1].Landmarks);
        Assert.Equal(new[] { 12, 7, 7 }, plan.LatentShape);

        using var scope = NewDisposeScope();
        var config = TwoScale28([4, 7]);
        using var model = BuildInitialised(config, 400, ScalarType.Float64);
        var x = RandomImages(401, 2, config);
        DenseFlowModelTests.CheckKeptPathRoundTrip(model, x, 402, 1e-10, exactImages: true);

        var fmnist = Presets.FashionMnistCpu.Plan();
        Assert.Equal(new[] { 4, 7 }, fmnist.Blocks.Select(b => b.Landmarks));
        Assert.Equal(7, fmnist.Blocks[1].Height);
    }

    static readonly DenseFlowConfig Small = Presets.Get("official-small");

    public static TheoryData<string> BadConfigNames() => new(BadConfigs.Keys);

    static readonly Dictionary<string, (DenseFlowConfig Config, string[] MessageContains)> BadConfigs = new()
    {
        ["odd size before a transition (30x30)"] = (Small with { InputShape = [3, 30, 30], Landmarks = [5, 4, 4] }, ["block 0", "15×15"]),
        ["odd size, default landmarks (30x30)"] = (Small with { InputShape = [3, 30, 30] }, ["block 0", "15"]),
        ["odd size before the second transition (20x20)"] = (Small with { InputShape = [3, 20, 20], Landmarks = [4, 5, 1] }, ["block 1", "5×5"]),
        ["odd input size"] = (Small with { InputShape = [3, 31, 31] }, ["31"]),
        ["H·W not divisible by landmarks, block 2"] = (Small with { Landmarks = [4, 4, 3] }, ["block 2", "16", "3 attention landmarks"]),
        ["H·W not divisible by landmarks, block 1"] = (Small with { Landmarks = [4, 6, 4] }, ["block 1", "64", "6 attention landmarks"]),
        ["7x7 stage with 4 landmarks"] = (TwoScale28([4, 4]), ["block 1", "49"]),
        ["odd unit width"] = (Small with { GrowthRate = 3 }, ["block 0", "odd", "15"]),
        ["zero modules per unit"] = (Small with { ModulesPerUnit = [0, 2, 2] }, ["block 0", "modules_per_unit"]),
        ["negative units per block"] = (Small with { UnitsPerBlock = [2, -1, 1] }, ["block 1", "units_per_block"]),
        ["zero input size"] = (Small with { InputShape = [3, 0, 32] }, ["input_shape"]),
        ["two input sizes"] = (Small with { InputShape = [32, 32] }, ["input_shape"]),
        ["negative growth"] = (Small with { GrowthRate = -2 }, ["growth_rate"]),
        ["zero growth with augmentation"] = (Small with { GrowthRate = 0 }, ["growth_rate"]),
        ["zero coupling width"] = (Small with { CouplingWidth = [16, 0, 16] }, ["block 1", "coupling_width"]),
        ["odd dense coupling width"] = (Small with { CouplingWidth = [15, 16, 16] }, ["block 0", "coupling_width", "15"]),
        ["zero landmarks"] = (Small with { Landmarks = [4, 0, 4] }, ["block 1", "landmarks"]),
        ["zero dense depth"] = (Small with { DenseDepth = 0 }, ["dense_depth"]),
        ["zero dequantizer steps"] = (Small with { DequantSteps = 0 }, ["dequantizer"]),
        ["negative dequantizer width"] = (Small with { DequantWidth = -8 }, ["dequantizer"]),
        ["nine bits"] = (Small with { NumBits = 9 }, ["num_bits", "9"]),
        ["no blocks"] = (Small with { UnitsPerBlock = [] }, ["units_per_block"]),
        ["modules_per_unit too short"] = (Small with { ModulesPerUnit = [1, 2] }, ["modules_per_unit", "3", "2"]),
        ["coupling_width too long"] = (Small with { CouplingWidth = [16, 16, 16, 16] }, ["coupling_width", "3", "4"]),
        ["landmarks too short"] = (Small with { Landmarks = [4] }, ["landmarks", "3", "1"]),
    };

    [Theory]
    [MemberData(nameof(BadConfigNames))]
    public void BadConfig_IsRefusedWithAClearMessage(string name)
    {
        var (config, contains) = BadConfigs[name];
        var e = Assert.Throws<ConfigException>(() => config.Plan());
        foreach (var part in contains) Assert.Contains(part, e.Message);
        // The model refuses it before allocating anything.
        var e2 = Assert.Throws<ConfigException>(() => new DenseFlowModel(config));
        Assert.Equal(e.Message, e2.Message);
    }

    static DenseFlowConfig EveryFieldChanged() => new()
    {
        InputShape = [1, 16, 24],
        UnitsPerBlock = [3, 2],
        ModulesPerUnit = [2, 3],
        GrowthRate = 6,
        CouplingWidth = [20, 24],
        DenseDepth = 3,
        DenseGrowth = 12,
        Landmarks = [8, 2],
        Coupling = CouplingKind.Glow,
        Augmentation = AugmentationKind.White,
        Dequantization = DequantizationKind.Uniform,
        Prior = PriorKind.Standard,
        NumBits = 5,
        DequantSteps = 3,
        DequantContextChannels = 16,
        DequantWidth = 24,
        DequantDepth = 2,
        DequantGrowth = 8,
        DequantContextDepth = 3,
        DequantContextGrowth = 6,
    };

    static IEnumerable<PropertyInfo> SerialisedProperties() =>
        typeof(DenseFlowConfig).GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.CanWrite); // every init property is configuration and must survive JSON

    static bool SameValue(object? a, object? b) =>
        a is Array x && b is Array y ? x.Cast<object>().SequenceEqual(y.Cast<object>()) : Equals(a, b);

    [Fact]
    public void Json_RoundTrip_PreservesEveryField()
    {
        var config = EveryFieldChanged();
        var defaults = new DenseFlowConfig();
        var properties = SerialisedProperties().ToList();
        Assert.True(properties.Count >= 20);
        foreach (var p in properties)
            Assert.False(SameValue(p.GetValue(config), p.GetValue(defaults)), $"test setup: give {p.Name} a non-default value in EveryFieldChanged");

        string json = config.ToJson();
        var back = DenseFlowConfig.FromJson(json);
        foreach (var p in properties)
            Assert.True(SameValue(p.GetValue(config), p.GetValue(back)), $"{p.Name} changed in the JSON round trip");
        Assert.Equal(json, back.ToJson());
        Assert.Contains("\"growth_rate\": 6", json); // snake_case names
        Assert.Contains("\"glow\"", json); // enums as strings
    }

    [Theory]
    [InlineData("")]
    [InlineData("{ not json")]
    [InlineData("null")]
    [InlineData("[1, 2, 3]")]
    [InlineData("{ \"input_shape\": \"3x32x32\" }")]
    [InlineData("{ \"coupling\": \"bogus\" }")]
    [InlineData("{ \"growth_rate\": 1.5 }")]
    public void Json_Invalid_ThrowsConfigException(string json)
    {
        var e = Assert.Throws<ConfigException>(() => DenseFlowConfig.FromJson(json, "my-config.json"));
        Assert.Contains("my-config.json", e.Message);
    }

    [Fact]
    public void Json_PartialDocument_KeepsDefaultsAndNullListIsRefusedByPlan()
    {
        var c = DenseFlowConfig.FromJson("{ \"growth_rate\": 4 }");
        Assert.Equal(4, c.GrowthRate);
        Assert.Equal(new DenseFlowConfig().UnitsPerBlock, c.UnitsPerBlock);
        var withNull = DenseFlowConfig.FromJson("{ \"landmarks\": null }");
        var e = Assert.Throws<ConfigException>(() => withNull.Plan());
        Assert.Contains("landmarks", e.Message);
    }

    [Fact]
    public void Load_MissingFile_ThrowsNamingIt()
    {
        string path = Path.Combine(Path.GetTempPath(), $"denseflow-missing-{Guid.NewGuid():N}.json");
        var e = Assert.Throws<ConfigException>(() => DenseFlowConfig.Load(path));
        Assert.Contains(path, e.Message);
    }
}
