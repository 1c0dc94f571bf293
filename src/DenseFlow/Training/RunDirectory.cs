using TorchSharp;
using DenseFlow.IO;
using DenseFlow.Model;
using static TorchSharp.torch;

namespace DenseFlow.Training;

/// <summary>The files of a run directory, in one place, and how runs are created, replaced and forked.</summary>
public sealed class RunDirectory
{
    public string Path { get; }
    public RunDirectory(string path) { Path = path; }

    public string ConfigFile => System.IO.Path.Combine(Path, "config.json");
    public string OptionsFile => System.IO.Path.Combine(Path, "run.json");
    public string CheckpointFile => System.IO.Path.Combine(Path, Checkpoint.FileName);
    /// <summary>Final (or imported) weights in <see cref="ModelFile"/> format.</summary>
    public string ModelFile => System.IO.Path.Combine(Path, "model.dfn");
    /// <summary>Final weight average (Polyak averaging, `train --ema`) in <see cref="ModelFile"/> format.</summary>
    public string AveragedModelFile => System.IO.Path.Combine(Path, "model-ema.dfn");
    public string MetricsFile => System.IO.Path.Combine(Path, "metrics.jsonl");
    public string CurveFile => System.IO.Path.Combine(Path, "curve.png");
    public string SamplesDir => System.IO.Path.Combine(Path, "samples");
    public string TensorBoardDir => System.IO.Path.Combine(Path, "tensorboard");

    public bool HasRun => File.Exists(OptionsFile) || File.Exists(CheckpointFile) || File.Exists(ModelFile);

    /// <summary>Throws <see cref="RunExistsException"/> when the directory already holds a run and <paramref name="overwrite"/> is false.</summary>
    /// <remarks>Separate from <see cref="Create"/> so a caller can refuse before it opens data, and fail on bad data with the old run untouched.</remarks>
    public void EnsureNoRun(bool overwrite = false)
    {
        if (HasRun && !overwrite) throw new RunExistsException(Path);
    }

    /// <summary>
    /// Starts a fresh run: refuses a directory that holds one unless <paramref name="overwrite"/>, which first removes that
    /// run's files (weights, checkpoint, metrics, curve, run.json, config.json, samples/, tensorboard/) and nothing else
    /// in the directory; then writes config.json and, for a run to train, run.json (an imported model has none).
    /// </summary>
    public static RunDirectory Create(string path, DenseFlowConfig config, TrainingOptions? options, bool overwrite = false)
    {
        var run = new RunDirectory(path);
        run.EnsureNoRun(overwrite);
        if (overwrite && Directory.Exists(path)) run.DeleteRunFiles();
        Directory.CreateDirectory(path);
        AtomicFile.WriteAllText(run.ConfigFile, config.ToJson());
        if (options is not null) run.WriteOptions(options);
        return run;
    }

    /// <summary>
    /// A new run at <paramref name="path"/> that continues this one (a fine-tuning phase kept apart from its source): gets
    /// the checkpoint, config.json and metrics.jsonl (so the curve goes on); run.json is the caller's, see <see cref="WriteOptions"/>.
    /// Refuses a target that already holds a run.
    /// </summary>
    public RunDirectory Fork(string path)
    {
        var target = new RunDirectory(path);
        target.EnsureNoRun();
        if (!File.Exists(CheckpointFile)) throw new TrainingException($"{Path}: no checkpoint.bin to continue from");
        Directory.CreateDirectory(path);
        AtomicFile.Copy(CheckpointFile, target.CheckpointFile);
        AtomicFile.Copy(ConfigFile, target.ConfigFile);
        if (File.Exists(MetricsFile)) AtomicFile.Copy(MetricsFile, target.MetricsFile);
        return target;
    }

    /// <summary>Writes run.json (atomically: a crash leaves the old one).</summary>
    public void WriteOptions(TrainingOptions options) => AtomicFile.WriteAllText(OptionsFile, options.ToJson());

    /// <summary>
    /// The options of a fine-tuning phase of a run that stands at <paramref name="state"/>: the phase's budgets (epochs,
    /// minutes, steps; null = none) are counted from there, so the trainer's totals stop the phase after that much more.
    /// </summary>
    public static TrainingOptions FineTuneBudget(TrainingOptions phase, TrainingState state) => phase with
    {
        FineTune = true,
        Epochs = phase.Epochs.HasValue ? state.Epoch + phase.Epochs : null,
        Minutes = phase.Minutes.HasValue ? state.ElapsedSeconds / 60 + phase.Minutes : null,
        MaxSteps = phase.MaxSteps.HasValue ? state.Step + phase.MaxSteps : null,
    };

    /// <summary>
    /// Loads the run's model: model.dfn when present, else the weights of checkpoint.bin. With
    /// <see cref="RunWeights.Auto"/> the weight average is used when the run has one (model-ema.dfn, or the
    /// average stored in checkpoint.bin); <see cref="RunWeights.Averaged"/> insists on it.
    /// </summary>
    /// <summary>The run's architecture without loading its weights: model.dfn's header, else the checkpoint's.</summary>
    public DenseFlowConfig ReadConfig()
    {
        if (File.Exists(ModelFile)) return Model.ModelFile.ReadConfig(ModelFile);
        if (File.Exists(CheckpointFile)) return Checkpoint.ReadConfig(CheckpointFile);
        throw new TrainingException($"{Path}: no model.dfn or checkpoint.bin (expected a directory made by `denseflow train` or `denseflow import`)");
    }

    public DenseFlowModel LoadModel(Device? device = null, RunWeights weights = RunWeights.Live)
    {
        if (!Directory.Exists(Path)) throw new TrainingException($"{Path}: run directory not found");
        if (weights == RunWeights.Averaged && !File.Exists(AveragedModelFile) && !CheckpointHasAverage())
            throw new TrainingException($"{Path}: no weight average (model-ema.dfn); the run was trained without --ema");
        string file = WeightsFile(weights);
        if (file != CheckpointFile) return Model.ModelFile.Load(file, device);
        if (File.Exists(CheckpointFile))
        {
            var model = new DenseFlowModel(Checkpoint.ReadConfig(CheckpointFile));
            Checkpoint.Load(CheckpointFile, model, null, averagedWeights: weights != RunWeights.Live);
            if (device is not null) model.to(device);
            return model;
        }
        throw new TrainingException($"{Path}: no model.dfn or checkpoint.bin (expected a directory made by `denseflow train` or `denseflow import`)");
    }

    /// <summary>The file <see cref="LoadModel"/> reads for these weights: model-ema.dfn, model.dfn or checkpoint.bin.</summary>
    public string WeightsFile(RunWeights weights)
    {
        bool averaged = weights != RunWeights.Live;
        if (averaged && File.Exists(AveragedModelFile)) return AveragedModelFile;
        if (!(averaged && CheckpointHasAverage()) && File.Exists(ModelFile)) return ModelFile;
        return CheckpointFile;
    }

    /// <summary>Whether <see cref="LoadModel"/> with these weights gives the weight average.</summary>
    /// <summary>
    /// Gives a weight average loaded from the checkpoint (no model-ema.dfn yet: a run in progress, or killed) the BatchNorm
    /// statistics the trainer would have written with it (<see cref="BatchNormStatistics.ForRun"/> on the run's training
    /// data, from run.json). Returns the images used: 0, changing nothing, without run.json, without BatchNorm, or when
    /// the training data no longer fits the model (a full batch of the model's image size).
    /// </summary>
    public int ReestimateAverageStatistics(DenseFlowModel averaged)
    {
        if (!File.Exists(OptionsFile) || !BatchNormStatistics.HasBatchNorm(averaged)) return 0;
        var options = TrainingOptions.Load(OptionsFile);
        var train = TrainingData.Open(options, "train");
        if (averaged.Config.ShapeMismatch(train.Shape) is not null) return 0;
        return BatchNormStatistics.ForRun(averaged, TrainingData.Batches(options, train), options.Seed);
    }

    public bool LoadsAverage(RunWeights weights) =>
        weights == RunWeights.Averaged || (weights == RunWeights.Auto && (File.Exists(AveragedModelFile) || CheckpointHasAverage()));

    /// <summary>
    /// Deletes the files a run writes (weights, weight average, checkpoint, options, metrics, samples, logs) before
    /// --overwrite replaces the run, so nothing of the old run is loaded or shown as the new one's. Other files stay.
    /// </summary>
    public void DeleteRunFiles()
    {
        foreach (var f in new[] { CheckpointFile, ModelFile, AveragedModelFile, MetricsFile, CurveFile, OptionsFile, ConfigFile })
            if (File.Exists(f)) File.Delete(f);
        if (Directory.Exists(TensorBoardDir)) Directory.Delete(TensorBoardDir, true);
        if (Directory.Exists(SamplesDir)) Directory.Delete(SamplesDir, true);
    }

    bool CheckpointHasAverage()
    {
        if (!File.Exists(OptionsFile)) return false;
        try { return TrainingOptions.Load(OptionsFile).EmaDecay is not null && File.Exists(CheckpointFile); }
        catch (TrainingException) { return false; }
    }
}
