using System.Diagnostics;
using DenseFlow.Data;
using DenseFlow.Distributed;
using DenseFlow.Evaluation;
using DenseFlow.Imaging;
using DenseFlow.Model;
using DenseFlow.Noise;
using DenseFlow.Training.Logging;
using TorchSharp;
using static TorchSharp.torch;

namespace DenseFlow.Training;

/// <summary>
/// The training loop of SPEC §7: Adamax, warm-up, mean bits/dim of the single-sample bound. Checkpoints
/// atomically every N steps, at the end and on cancellation; resumes bit for bit on CPU. Evaluation and
/// sampling draw from their own seeded noise, so they never disturb the training draws.
/// With a communicator of N &gt; 1 ranks it trains one model data-parallel and reproduces the single-process
/// run: each rank takes its rows of the same global batch and of the same noise draws
/// (<see cref="ShardedNoise"/>), its loss is its images' share of the global mean, gradients are summed in
/// buckets (<see cref="GradientBuckets"/>), ActNorm and BatchNorm use global-batch statistics, and the
/// step's loss, skip, stop and time decisions come from one small all-reduce. Only rank 0 writes.
/// </summary>
public sealed class Trainer : IDisposable
{
    readonly DenseFlowModel _model;
    readonly TrainingOptions _options;
    readonly RunDirectory _run;
    readonly ImageBatcher _train;
    readonly IImageDataset _test;
    readonly Adamax _optimizer;
    readonly SeededNoise _noise;
    readonly LearningRateSchedule _schedule;
    readonly Device _device;
    readonly WeightAverage? _average;
    readonly ICommunicator _comm;
    readonly GradientBuckets? _buckets;
    readonly int _rowStart, _rowCount;
    TrainingState _state;
    // Decided collectively at the last step (distributed runs): any rank asked to stop; rank 0's clock.
    bool _stopRequested;
    double _sharedElapsed;
    double _lastTrainBpd = double.NaN;
    long _consecutiveBad;

    public event Action<TrainingProgress>? Progress;
    public event Action<EpochReport>? EpochEnded;
    public event Action<string>? Warning;

    /// <summary>Fault injection for tests: return true to make that step's loss NaN.</summary>
    internal Func<long, bool>? LossFault { get; set; }

    /// <summary>Fault injection for tests: return true to make that step's gradient of the first parameter NaN (the loss stays finite).</summary>
    internal Func<long, bool>? GradientFault { get; set; }

    public DenseFlowModel Model => _model;
    public TrainingState State => _state;
    /// <summary>The weight average (null unless <see cref="TrainingOptions.EmaDecay"/> is set).</summary>
    public WeightAverage? Average => _average;

    bool Distributed => _comm.Size > 1;
    bool Writes => _comm.Rank == 0;

    /// <param name="comm">the ranks training together (null: this process alone)</param>
    public Trainer(DenseFlowModel model, TrainingOptions options, IImageDataset train, IImageDataset test, string runDir, bool resume,
        ICommunicator? comm = null)
    {
        _comm = comm ?? SingleProcessCommunicator.Instance;
        _model = model;
        _options = options;
        _run = new RunDirectory(runDir);
        // The model's own device: under MPI with shared GPUs each rank's model sits on cuda:LOCAL_RANK, not options.Device.
        _device = model.Device;
        _test = test;
        _train = TrainingData.Batches(options, train);
        if (_train.BatchesPerEpoch == 0)
            throw new TrainingException($"--batch {options.BatchSize} is larger than the {train.Count} training images");
        _schedule = options.FineTune
            ? new LearningRateSchedule(ScheduleKind.Official, 2e-5, 0, 1)
            : new LearningRateSchedule(options.Schedule, options.LearningRate, options.WarmupSteps, options.Gamma);
        if (options.Schedule == ScheduleKind.Cosine && !options.FineTune && options.Epochs is null && options.Minutes is null && options.MaxSteps is null)
            throw new TrainingException("--schedule cosine decays to zero at the end of the budget: give --epochs, --minutes or --max-steps");
        _optimizer = new Adamax(model.named_parameters().Where(p => p.parameter.requires_grad).Select(p => (p.name, (Tensor)p.parameter)));
        _noise = new SeededNoise(options.Seed);
        _model.Noise = _noise;
        _rowStart = 0;
        _rowCount = options.BatchSize;
        if (Distributed)
        {
            if (options.BatchSize < _comm.Size)
                throw new TrainingException($"--batch {options.BatchSize} is smaller than the {_comm.Size} processes (--batch is the global batch)");
            // Balanced rows: rank r takes [⌊rB/N⌋, ⌊(r+1)B/N⌋) of every global batch.
            _rowStart = (int)((long)_comm.Rank * options.BatchSize / _comm.Size);
            _rowCount = (int)((long)(_comm.Rank + 1) * options.BatchSize / _comm.Size) - _rowStart;
            _model.Noise = new ShardedNoise(_noise, options.BatchSize, _rowStart, _rowCount);
            _model.UseStatisticsOf(_comm, synchronizeBatchNorm: options.BatchNorm == BatchNormMode.Sync);
            _buckets = new GradientBuckets(model.parameters().Where(p => p.requires_grad));
        }
        _model.RecomputeFraction = options.RecomputeFraction;
        _model.ActivationLayout = options.ActivationLayout;
        if (options.EmaDecay is { } decay) _average = new WeightAverage(model, decay);
        _state = new TrainingState();
        if (resume)
        {
            _state = Distributed ? LoadSharedCheckpoint() : Checkpoint.Load(_run.CheckpointFile, _model, _optimizer, _average);
            _noise.SetState(Convert.FromBase64String(_state.NoiseState));
            // Checkpoints from before images were counted: every step had a full batch (drop-last).
            if (_state.ImagesSeen == 0 && _state.Step > 0) _state = _state with { ImagesSeen = _state.Step * options.BatchSize };
            // Metrics written after the checkpoint belong to steps that will run again.
            if (Writes && File.Exists(_run.MetricsFile)) MetricsLog.TruncateAfterStep(_run.MetricsFile, _state.Step);
        }
        else if (Distributed)
        {
            // Every rank built the model from the same seed; rank 0's copy is made authoritative anyway.
            foreach (var t in _model.parameters().Cast<Tensor>().Concat(_model.buffers())) _comm.Broadcast(t);
        }
        _sharedElapsed = _state.ElapsedSeconds;
    }

    /// <summary>Rank 0 reads the checkpoint and broadcasts its bytes: every rank loads the same file, no shared file system needed.</summary>
    TrainingState LoadSharedCheckpoint()
    {
        var bytes = _comm.Broadcast(Writes ? File.ReadAllBytes(_run.CheckpointFile) : null);
        return Checkpoint.Load(bytes, _run.CheckpointFile, _model, _optimizer, _average);
    }

    /// <summary>Runs until the epoch count, the time budget, the step limit or cancellation.</summary>
    public TrainingResult Run(CancellationToken cancel = default)
    {
        if (Writes) Directory.CreateDirectory(_run.Path);
        using var metrics = Writes ? new MetricsLog(_run.MetricsFile) : null;
        using var tb = Writes ? new TensorBoardLog(_run.TensorBoardDir) : null;
        double budget = _options.Minutes.HasValue ? _options.Minutes.Value * 60 : double.PositiveInfinity;
        var clock = Stopwatch.StartNew();
        double startElapsed = _state.ElapsedSeconds;
        double Elapsed() => startElapsed + clock.Elapsed.TotalSeconds;
        string reason = "finished";
        long stepsAtStart = _state.Step;
        var rate = Stopwatch.StartNew();
        long? totalSteps = _options.MaxSteps ?? (_options.Epochs.HasValue ? (long)_options.Epochs.Value * _train.BatchesPerEpoch : null);
        double? lastTest = null;

        while (true)
        {
            if (_options.Epochs.HasValue && _state.Epoch >= _options.Epochs.Value) { reason = $"{_options.Epochs} epochs done"; break; }
            if (_options.MaxSteps.HasValue && _state.Step >= _options.MaxSteps.Value) { reason = $"{_options.MaxSteps} steps done"; break; }
            // Distributed: rank 0's clock and any rank's stop request, as of the last step's all-reduce.
            if ((Distributed ? _sharedElapsed : Elapsed()) >= budget) { reason = $"time budget of {_options.Minutes} min reached"; break; }
            if (Distributed ? _stopRequested : cancel.IsCancellationRequested) { reason = "interrupted"; break; }

            if (Distributed) RunStepDistributed(metrics, tb, cancel, Elapsed);
            else RunStep(metrics!, tb!);
            double ips = (_state.Step - stepsAtStart) * _options.BatchSize / Math.Max(1e-9, rate.Elapsed.TotalSeconds);
            Progress?.Invoke(new TrainingProgress(_state.Step, _state.Epoch, _state.BatchInEpoch, _train.BatchesPerEpoch, _lastTrainBpd,
                _schedule.At(_state.Step, _state.Epoch, BudgetProgress()), ips, Elapsed(), double.IsInfinity(budget) ? null : budget, totalSteps, _state.BadStepsTotal, _state.ImagesSeen));

            if (_state.BatchInEpoch >= _train.BatchesPerEpoch)
            {
                lastTest = EndEpoch(metrics, tb);
                _state = _state with { Epoch = _state.Epoch + 1, BatchInEpoch = 0 };
            }
            _state = _state with { ElapsedSeconds = Elapsed() };
            if (_options.CheckpointEverySteps > 0 && _state.Step % _options.CheckpointEverySteps == 0) SaveCheckpoint();
        }

        // A run that stops mid-epoch still reports a test figure, so a time-budgeted run ends with one.
        if (_state.BatchInEpoch > 0 && reason != "interrupted") lastTest = EndEpoch(metrics, tb, partial: true);
        _state = _state with { ElapsedSeconds = Elapsed(), Finished = reason != "interrupted" };
        SaveCheckpoint();
        if (Writes)
        {
            ModelFile.Save(_model, _run.ModelFile);
            if (_average is not null)
                using (_average.Apply(RecalibrateBatchNorm)) ModelFile.Save(_model, _run.AveragedModelFile);
        }
        if (Distributed) _comm.Barrier(); // nobody leaves before rank 0 has written
        return new TrainingResult(_state.Step, _state.Epoch, _state.ElapsedSeconds, lastTest, reason);
    }

    void RunStep(MetricsLog metrics, TensorBoardLog tb)
    {
        using var scope = NewDisposeScope();
        double lr = _schedule.At(_state.Step, _state.Epoch, BudgetProgress());
        _model.train();
        var x = _train.GetBatch(_state.Epoch, _state.BatchInEpoch).to(_device);
        _optimizer.ZeroGrad();
        var loss = -_model.LogLikelihood(x).mean() / (_model.Config.Dimensions * Math.Log(2));
        if (LossFault?.Invoke(_state.Step) == true) loss = loss * double.NaN;
        double bpd = loss.to(ScalarType.Float64).item<double>();
        bool ok = double.IsFinite(bpd);
        if (ok)
        {
            loss.backward();
            if (GradientFault?.Invoke(_state.Step) == true) InjectNaNGradient();
            ok = GradientsFinite();
        }
        Finish(ok, bpd, lr, metrics, tb);
    }

    /// <summary>Applies a good step or counts a skipped one; writes its metrics (rank 0).</summary>
    void Finish(bool ok, double bpd, double lr, MetricsLog? metrics, TensorBoardLog? tb)
    {
        if (ok)
        {
            _optimizer.Apply(lr);
            _average?.Update(_optimizer.Step);
            _consecutiveBad = 0;
            _lastTrainBpd = bpd;
        }
        else
        {
            // A non-finite loss or gradient is not applied: count it, report it, go on (SPEC-level safety net).
            _optimizer.ZeroGrad();
            _consecutiveBad++;
            _state = _state with { BadStepsTotal = _state.BadStepsTotal + 1 };
            Warning?.Invoke($"step {_state.Step}: non-finite {(double.IsFinite(bpd) ? "gradient" : "loss")}, update skipped ({_consecutiveBad} in a row)");
            if (_consecutiveBad >= _options.MaxBadSteps)
            {
                bool hasCheckpoint = CheckpointExists();
                string message = $"step {_state.Step}: {_consecutiveBad} consecutive non-finite steps (--max-bad-steps {_options.MaxBadSteps}); "
                    + (hasCheckpoint ? $"restored the last good checkpoint ({_run.CheckpointFile})" : "no checkpoint to restore");
                if (hasCheckpoint)
                {
                    _state = Distributed ? LoadSharedCheckpoint() : Checkpoint.Load(_run.CheckpointFile, _model, _optimizer, _average);
                    _noise.SetState(Convert.FromBase64String(_state.NoiseState));
                }
                throw new TrainingException(message);
            }
        }
        _state = _state with { Step = _state.Step + 1, BatchInEpoch = _state.BatchInEpoch + 1, OptimizerStep = _optimizer.Step, ImagesSeen = _state.ImagesSeen + _options.BatchSize };
        if (ok)
        {
            metrics?.Append(new { step = _state.Step, epoch = _state.Epoch, images = ImagesSeen, train_bpd = bpd, lr, bad_steps = _state.BadStepsTotal });
            tb?.AddScalar("train/bpd", (float)bpd, _state.Step);
            tb?.AddScalar("train/lr", (float)lr, _state.Step);
        }
    }

    /// <summary>
    /// Share of the budget done as of the last step, the furthest of steps (--max-steps, --epochs) and minutes: the
    /// cosine schedule's clock. Under MPI the minutes are rank 0's, as every rank received them, so all ranks agree.
    /// </summary>
    double BudgetProgress()
    {
        double done = 0;
        if (_options.MaxSteps is > 0) done = Math.Max(done, _state.Step / (double)_options.MaxSteps.Value);
        if (_options.Epochs is > 0) done = Math.Max(done, _state.Step / ((double)_options.Epochs.Value * _train.BatchesPerEpoch));
        if (_options.Minutes is > 0) done = Math.Max(done, (Distributed ? _sharedElapsed : _state.ElapsedSeconds) / (_options.Minutes.Value * 60));
        return done;
    }

    /// <summary>Training images seen so far: the machine-independent clock of a learning curve.</summary>
    long ImagesSeen => _state.ImagesSeen;

    /// <summary>
    /// One data-parallel step: this rank's rows, loss = Σ its bounds / global batch (so summed gradients are
    /// the global mean's, for any split), one small all-reduce of [loss, non-finite, stop, rank 0's clock],
    /// then — only if the global loss is finite, on every rank alike — backward and the bucketed gradient sum.
    /// </summary>
    void RunStepDistributed(MetricsLog? metrics, TensorBoardLog? tb, CancellationToken cancel, Func<double> elapsed)
    {
        using var scope = NewDisposeScope();
        double lr = _schedule.At(_state.Step, _state.Epoch, BudgetProgress());
        _model.train();
        var x = _train.GetBatchRows(_state.Epoch, _state.BatchInEpoch, _rowStart, _rowCount).to(_device);
        _optimizer.ZeroGrad();
        var loss = -_model.LogLikelihood(x).sum() / (_options.BatchSize * _model.Config.Dimensions * Math.Log(2));
        if (LossFault?.Invoke(_state.Step) == true) loss = loss * double.NaN;
        double local = loss.to(ScalarType.Float64).item<double>();
        var shared = new[] { double.IsFinite(local) ? local : 0, double.IsFinite(local) ? 0 : 1, cancel.IsCancellationRequested ? 1 : 0, Writes ? elapsed() : 0 };
        _comm.AllReduceSum(shared);
        _stopRequested = shared[2] > 0;
        _sharedElapsed = shared[3];
        double bpd = shared[1] > 0 ? double.NaN : shared[0];
        bool ok = double.IsFinite(bpd);
        if (ok)
        {
            loss.backward();
            // The summed gradients are the same on every rank, so is this decision.
            ok = _buckets!.AllReduce(_comm);
        }
        Finish(ok, bpd, lr, metrics, tb);
    }

    /// <summary>Whether rank 0 sees a checkpoint (every rank gets its answer).</summary>
    bool CheckpointExists()
    {
        if (!Distributed) return File.Exists(_run.CheckpointFile);
        var flag = new[] { Writes && File.Exists(_run.CheckpointFile) ? 1.0 : 0.0 };
        _comm.AllReduceSum(flag);
        return flag[0] > 0;
    }

    void InjectNaNGradient()
    {
        using var _ = no_grad();
        _model.parameters().First(p => p.grad is not null).grad!.fill_(double.NaN);
    }

    bool GradientsFinite()
    {
        using var scope = NewDisposeScope();
        foreach (var p in _model.parameters())
        {
            if (p.grad is null) continue;
            if (!p.grad.isfinite().all().item<bool>()) return false;
        }
        return true;
    }

    /// <summary>BatchNorm statistics for the weights in the model (the average, while <see cref="WeightAverage.Apply"/> holds it); training draws stay as they were.</summary>
    void RecalibrateBatchNorm() => BatchNormStatistics.ForRun(_model, _train, _options.Seed);

    /// <summary>Test bound, inverse error, sample grid and curve at the end of an epoch.</summary>
    /// <remarks>Distributed: rank 0 alone evaluates (eval mode needs no communication); the others go on to the next step's all-reduce and wait there.</remarks>
    double EndEpoch(MetricsLog? metrics, TensorBoardLog? tb, bool partial = false)
    {
        if (!Writes || metrics is null || tb is null) return double.NaN;
        using var scope = NewDisposeScope();
        var saved = _model.Noise;
        // With a weight average, the test bound and samples are those of the averaged weights, with BatchNorm
        // statistics of their own.
        using var averaged = _average?.Apply(RecalibrateBatchNorm);
        try
        {
            _model.eval();
            // Evaluation noise is its own stream, seeded by (seed, epoch): it never shifts the training draws.
            using var evalNoise = new SeededNoise(_options.Seed * 1_000_003L + _state.Epoch + 17);
            _model.Noise = evalNoise;
            int n = Math.Min(_test.Count, _options.EvalImages ?? _test.Count);
            int batch = Math.Max(1, _options.BatchSize);
            var testBatcher = new ImageBatcher(_test, batch, shuffle: false, seed: 0, Augmentation.None, dropLast: false);
            double inverseError = double.NaN;
            // Only rank 0 gets here, so the bound is not shared out over the ranks. The inverse error is measured on the
            // first pass's images right after it, at the same point of the evaluation noise stream as ever.
            var bounds = DatasetBounds.Evaluate(_model, testBatcher, n, batch, k: 1, drawsPerPass: 1, comm: SingleProcessCommunicator.Instance,
                afterPass: (start, x) => { if (start == 0) inverseError = Reconstruction.MaxInverseError(_model, x); });
            double testBpd = Likelihood.BitsPerDim(bounds.Elbo.Sum() / Math.Max(1, n), _model.Config.Dimensions);
            if (inverseError > _options.InverseErrorWarning)
                Warning?.Invoke($"epoch {_state.Epoch}: inverse error max|x − f⁻¹(f(x))| = {inverseError:E2} exceeds {_options.InverseErrorWarning:E0}");

            string? grid = null;
            if (_options.SamplesPerEpoch > 0)
            {
                Directory.CreateDirectory(_run.SamplesDir);
                // A run that stops mid-epoch names its grid by step, so the full epoch's grid is not overwritten later.
                grid = System.IO.Path.Combine(_run.SamplesDir, partial ? $"epoch_{_state.Epoch:D3}_step_{_state.Step}.png" : $"epoch_{_state.Epoch:D3}.png");
                var samples = _model.Sample(_options.SamplesPerEpoch, _options.SampleTemperature);
                Png.SaveGrid(grid, samples.cpu());
            }
            metrics.Append(new { step = _state.Step, epoch = _state.Epoch, images = ImagesSeen, test_bpd = testBpd, weights = _average is null ? "live" : "ema", inverse_error = inverseError, partial_epoch = partial, elapsed_seconds = _state.ElapsedSeconds });
            tb.AddScalar("test/bpd", (float)testBpd, _state.Step);
            tb.AddScalar("test/inverse_error", (float)inverseError, _state.Step);
            WriteCurve();
            EpochEnded?.Invoke(new EpochReport(_state.Epoch, _state.Step, testBpd, inverseError, _lastTrainBpd, grid));
            return testBpd;
        }
        finally
        {
            _model.Noise = saved;
            _model.train();
        }
    }

    void WriteCurve()
    {
        var records = MetricsLog.Read(_run.MetricsFile).ToList();
        var train = MetricsLog.Series(records, "train_bpd");
        var test = MetricsLog.Series(records, "test_bpd");
        CurvePlot.Save(_run.CurveFile, new[] { new CurveSeries("train bpd", train), new CurveSeries("test bpd", test) },
            new CurvePlotOptions { Title = $"DenseFlow on {_options.Dataset}" });
    }

    void SaveCheckpoint()
    {
        if (!Writes) return;
        _state = _state with { NoiseState = Convert.ToBase64String(_noise.GetState()), OptimizerStep = _optimizer.Step };
        Checkpoint.Save(_run.CheckpointFile, _model, _optimizer, _state, average: _average);
    }

    public void Dispose()
    {
        _optimizer.Dispose();
        _average?.Dispose();
        _noise.Dispose();
    }
}
