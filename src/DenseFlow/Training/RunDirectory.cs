using TorchSharp;
using DenseFlow.Model;
using static TorchSharp.torch;

namespace DenseFlow.Training;

/// <summary>The files of a run directory, in one place.</summary>
public sealed class RunDirectory
{
    public string Path { get; }
    public RunDirectory(string path) { Path = path; }

    public string ConfigFile => System.IO.Path.Combine(Path, "config.json");
    public string OptionsFile => System.IO.Path.Combine(Path, "run.json");
    public string CheckpointFile => System.IO.Path.Combine(Path, Checkpoint.FileName);
    /// <summary>Final (or imported) weights in <see cref="ModelFile"/> format.</summary>
    public string ModelFile => System.IO.Path.Combine(Path, "model.dfn");
    public string MetricsFile => System.IO.Path.Combine(Path, "metrics.jsonl");
    public string CurveFile => System.IO.Path.Combine(Path, "curve.png");
    public string SamplesDir => System.IO.Path.Combine(Path, "samples");
    public string TensorBoardDir => System.IO.Path.Combine(Path, "tensorboard");

    public bool HasRun => File.Exists(OptionsFile) || File.Exists(CheckpointFile) || File.Exists(ModelFile);

    /// <summary>Loads the run's model: model.dfn when present, else the weights of checkpoint.bin.</summary>
    public DenseFlowModel LoadModel(Device? device = null)
    {
        if (!Directory.Exists(Path)) throw new TrainingException($"{Path}: run directory not found");
        if (File.Exists(ModelFile)) return Model.ModelFile.Load(ModelFile, device);
        if (File.Exists(CheckpointFile))
        {
            var model = new DenseFlowModel(Checkpoint.ReadConfig(CheckpointFile));
            Checkpoint.Load(CheckpointFile, model, null);
            if (device is not null) model.to(device);
            return model;
        }
        throw new TrainingException($"{Path}: no model.dfn or checkpoint.bin (expected a directory made by `denseflow train` or `denseflow import`)");
    }
}
