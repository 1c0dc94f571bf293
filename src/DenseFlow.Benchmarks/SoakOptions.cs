using DenseFlow.Model;

namespace DenseFlow.Benchmarks;

/// <summary>What <see cref="Soak.Run"/> trains, and how often it looks at the process.</summary>
public sealed record SoakOptions
{
    public string Preset { get; init; } = "fmnist-cpu";
    public DenseFlowConfig? Config { get; init; }
    public long Steps { get; init; } = 1000;
    public int BatchSize { get; init; } = 16;
    /// <summary>Read RSS and open files every this many steps.</summary>
    public int SampleEvery { get; init; } = 50;
    /// <summary>Training images per epoch (Fashion-MNIST, resized to the model's input): epochs end, evaluate and sample often.</summary>
    public int TrainImages { get; init; } = 2048;
    public int EvalImages { get; init; } = 64;
    public long CheckpointEverySteps { get; init; } = 100;
    /// <summary>The run directory; null = a temporary one, deleted afterwards.</summary>
    public string? RunDir { get; init; }
    public int Seed { get; init; }
    public string Device { get; init; } = "cpu";
    public int Threads { get; init; }

    public DenseFlowConfig ResolveConfig() => Config ?? Presets.Get(Preset);
    public string ModelName => Config is null ? Preset : "custom";
}
