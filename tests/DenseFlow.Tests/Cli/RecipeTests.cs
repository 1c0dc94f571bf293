using System.Text.Json;
using DenseFlow.Tests.Training;
using DenseFlow.Training;

namespace DenseFlow.Tests.Cli;

/// <summary>`train` takes batch, learning rate, warm-up, schedule and weight average from the preset's recipe unless told otherwise.</summary>
public class RecipeTests : IDisposable
{
    readonly string _dir = Path.Combine(Path.GetTempPath(), "denseflow-recipe-" + Guid.NewGuid().ToString("N"));

    public RecipeTests() { Directory.CreateDirectory(_dir); }

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, true);
    }

    JsonElement TrainOneStep(string name, params string[] extra)
    {
        string run = Path.Combine(_dir, name);
        var (code, output, err) = CliTests.Run(new[] { "train", "--dataset", "fashion-mnist", "--max-steps", "1", "--train-limit", "64",
            "--eval-images", "8", "--samples", "0", "--out", run }.Concat(extra).ToArray());
        Assert.True(code == 0, output + err);
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "run.json")));
        return doc.RootElement.Clone();
    }

    static void AssertRecipe(TrainingRecipe expected, JsonElement runJson)
    {
        Assert.Equal(expected.BatchSize, runJson.GetProperty("batch_size").GetInt32());
        Assert.Equal(expected.LearningRate, runJson.GetProperty("learning_rate").GetDouble());
        Assert.Equal(expected.WarmupSteps, runJson.GetProperty("warmup_steps").GetInt64());
        Assert.Equal(expected.Schedule.ToString(), runJson.GetProperty("schedule").GetString(), ignoreCase: true);
        var ema = runJson.GetProperty("ema_decay");
        if (expected.EmaDecay is { } d) Assert.Equal(d, ema.GetDouble()); else Assert.Equal(JsonValueKind.Null, ema.ValueKind);
    }

    // The recipes as their sources state them: SPEC §7 (the authors' code) and docs/TRAINING.md (issue 12's study).
    static readonly TrainingRecipe SpecOfficial = new(BatchSize: 64, LearningRate: 1e-3, WarmupSteps: 5000, EmaDecay: null, ScheduleKind.Official);
    static readonly TrainingRecipe StudiedCpu = new(BatchSize: 16, LearningRate: 5e-3, WarmupSteps: 100, EmaDecay: 0.999, ScheduleKind.Cosine);

    [Fact]
    public void The_cpu_preset_trains_with_its_own_recipe_and_a_custom_configuration_with_the_official_one()
    {
        AssertRecipe(StudiedCpu, TrainOneStep("preset", "--preset", "fmnist-cpu"));
        AssertRecipe(StudiedCpu, TrainOneStep("short", "--preset", "fmnist-cpu-short"));

        string config = Path.Combine(_dir, "tiny.json");
        File.WriteAllText(config, TinyModels.FashionMnist.ToJson());
        AssertRecipe(SpecOfficial, TrainOneStep("custom", "--config", config));
    }

    [Fact]
    public void The_official_recipe_halves_the_batch_for_64x64_images_only()
    {
        Assert.Equal(SpecOfficial, TrainingRecipe.For("df-74-10", 32));
        Assert.Equal(SpecOfficial with { BatchSize = 32 }, TrainingRecipe.For("df-74-10", 64));
        Assert.Equal(SpecOfficial with { BatchSize = 32 }, TrainingRecipe.For(null, 64));
        Assert.Equal(StudiedCpu, TrainingRecipe.For("fmnist-cpu", 64));
    }

    [Fact]
    public void Options_given_on_the_command_line_override_the_recipe()
    {
        var json = TrainOneStep("override", "--preset", "fmnist-cpu", "--batch", "8", "--lr", "5e-4", "--warmup", "7", "--ema", "0.99", "--schedule", "official");
        AssertRecipe(new TrainingRecipe(8, 5e-4, 7, 0.99, ScheduleKind.Official), json);
        var off = TrainOneStep("ema-off", "--preset", "fmnist-cpu", "--ema", "off");
        Assert.Equal(JsonValueKind.Null, off.GetProperty("ema_decay").ValueKind);
    }
}
