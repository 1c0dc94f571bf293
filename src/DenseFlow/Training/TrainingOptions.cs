using System.Text.Json;
using DenseFlow.Data;
using DenseFlow.Model;

namespace DenseFlow.Training;

/// <summary>Everything a training run was started with; saved as run.json so `--resume` needs nothing else.</summary>
public sealed record TrainingOptions
{
    public string Dataset { get; init; } = Datasets.FashionMnist.Name;
    public string? DataDir { get; init; }
    public string? Preset { get; init; }
    /// <summary>Train on only the first N training images (quick experiments, tests).</summary>
    public int? TrainLimit { get; init; }
    /// <summary>Class labels left out of training and test (a held-out class for OOD detection; labelled datasets only).</summary>
    public int[]? ExcludeClasses { get; init; }
    /// <summary>Ren et al.'s input perturbation for a background model: each training pixel replaced by a uniform random value with this probability (0 = none).</summary>
    public double Mutation { get; init; }
    /// <summary>Test images used for the per-epoch bound (null: all).</summary>
    public int? EvalImages { get; init; } = 1000;
    public int? Epochs { get; init; }
    public double? Minutes { get; init; }
    /// <summary>Stop after this many optimisation steps in total (tests, benchmarks).</summary>
    public long? MaxSteps { get; init; }
    public int BatchSize { get; init; } = 64;
    public int Seed { get; init; } = 0;
    public double LearningRate { get; init; } = 1e-3;
    public long WarmupSteps { get; init; } = 5000;
    public ScheduleKind Schedule { get; init; } = ScheduleKind.Official;
    public double Gamma { get; init; } = 0.95;
    public Augmentation? Augmentation { get; init; }
    public long CheckpointEverySteps { get; init; } = 500;
    public int SamplesPerEpoch { get; init; } = 64;
    public double SampleTemperature { get; init; } = 1.0;
    /// <summary>Stop after this many consecutive steps with a non-finite loss or gradient.</summary>
    public int MaxBadSteps { get; init; } = 20;
    /// <summary>Warn when max|x − f⁻¹(f(x))| on a test batch exceeds this.</summary>
    public double InverseErrorWarning { get; init; } = 1e-3;
    public string Device { get; init; } = "cpu";
    public bool Double { get; init; }
    /// <summary>Share of the coupling networks recomputed in the backward pass (less memory, same results; see <see cref="DenseFlowModel.RecomputeFraction"/>).</summary>
    public double RecomputeFraction { get; init; }

    /// <summary>Memory layout of the dense blocks' activations (same results; see <see cref="DenseFlowModel.ActivationLayout"/>).</summary>
    public Nets.ActivationLayout ActivationLayout { get; init; } = Nets.ActivationLayout.Auto;
    /// <summary>Processes training together (data parallel over MPI); 1 for a single process. Recorded, not a setting: the launcher decides.</summary>
    public int WorldSize { get; init; } = 1;

    /// <summary>With several processes: BatchNorm statistics over the global batch (sync, the default) or each process's own slice (local).</summary>
    public BatchNormMode BatchNorm { get; init; } = BatchNormMode.Sync;

    /// <summary>Fine-tuning phase (SPEC §7): lr 2e−5, optimiser state kept, no warm-up.</summary>
    public bool FineTune { get; init; }

    /// <summary>Decay of the weight average used for evaluation and sampling (null: none; see <see cref="WeightAverage"/>).</summary>
    public double? EmaDecay { get; init; }

    public string ToJson() => JsonSerializer.Serialize(this, DenseFlowConfig.Json);

    public static TrainingOptions Load(string path)
    {
        if (!File.Exists(path)) throw new TrainingException($"{path}: missing (expected the run's run.json)");
        return FromJson(File.ReadAllText(path), path);
    }

    /// <summary>Parses run.json text (read elsewhere, e.g. broadcast by rank 0); <paramref name="path"/> names it in errors.</summary>
    public static TrainingOptions FromJson(string json, string path)
    {
        try { return JsonSerializer.Deserialize<TrainingOptions>(json, DenseFlowConfig.Json) ?? throw new JsonException("empty"); }
        catch (JsonException e) { throw new TrainingException($"{path}: not a valid run.json ({e.Message.Split('\n')[0]})"); }
    }
}
