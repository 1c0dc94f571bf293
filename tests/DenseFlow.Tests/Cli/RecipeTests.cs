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

    [Fact]
    public void The_cpu_preset_trains_with_its_own_recipe_and_a_custom_configuration_with_the_official_one()
    {
        Assert.NotEqual(TrainingRecipe.Official, TrainingRecipe.FashionMnistCpu);
        AssertRecipe(TrainingRecipe.FashionMnistCpu, TrainOneStep("preset", "--preset", "fmnist-cpu"));
        AssertRecipe(TrainingRecipe.FashionMnistCpu, TrainOneStep("short", "--preset", "fmnist-cpu-short"));

        string config = Path.Combine(_dir, "tiny.json");
        File.WriteAllText(config, TinyModels.FashionMnist.ToJson());
        AssertRecipe(TrainingRecipe.Official, TrainOneStep("custom", "--config", config));
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
