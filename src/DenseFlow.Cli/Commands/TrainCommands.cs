using TorchSharp;
using DenseFlow.Data;
using DenseFlow.Distributed;
using DenseFlow.Model;
using DenseFlow.Training;
using Spectre.Console;

namespace DenseFlow.Cli.Commands;

static class TrainCommands
{
    // The help texts state the recipes' defaults.
    static TrainingRecipe Official => TrainingRecipe.Official;
    static TrainingRecipe Cpu => TrainingRecipe.FashionMnistCpu;

    static readonly OptionSpec[] RunOptions =
    {
        new("epochs", "train for N epochs", Meta: "N"),
        new("minutes", "train for a wall-clock budget (counts across resumes)", Meta: "M"),
        new("max-steps", "stop after N optimisation steps in total", Meta: "N"),
        new("batch", $"batch size (default: the preset's recipe, {Official.BatchSize}, {TrainingRecipe.For(null, 64).BatchSize} for 64×64 images; {Cpu.BatchSize} for the fmnist-cpu presets)", Meta: "B"),
        new("checkpoint-every", "write a checkpoint every N steps (default 500; also at the end and on Ctrl-C)", Meta: "N"),
        new("eval-images", "test images for the per-epoch bound (default 1000)", Meta: "N"),
        new("samples", "sample grid size written each epoch (default 64; 0 for none)", Meta: "N"),
        new("temperature", "temperature of the per-epoch samples (default 1)", Meta: "T"),
        new("max-bad-steps", "stop after N consecutive non-finite steps, restoring the last checkpoint (default 20)", Meta: "N"),
        new("recompute", "share of the coupling networks recomputed in the backward pass, highest resolution first: off (default), on (all) or F in [0, 1]; less memory for more time, same results", Meta: "F"),
        new("batchnorm", "under mpiexec: BatchNorm statistics over the global batch (sync, default; as one process) or each process's slice (local)", Meta: "MODE"),
        Common.LayoutOption,
        Common.Device,
    };

    public static readonly Command Train = new()
    {
        Name = "train",
        Summary = "train a DenseFlow model on an image dataset",
        Usage = "denseflow train --dataset NAME [--data DIR] [--preset NAME | --config FILE] [--epochs N | --minutes M] [--batch B] [--seed S] --out RUN_DIR\n  denseflow train --resume RUN_DIR [--minutes M | --epochs N]",
        Examples = "denseflow train --dataset fashion-mnist --minutes 10 --out runs/fmnist\n"
                 + "denseflow train --dataset cifar10 --data ~/data/cifar-10-batches-bin --preset df-74-10 --epochs 580 --out runs/cifar\n"
                 + "denseflow train --resume runs/fmnist --minutes 20",
        Options = new[]
        {
            Common.Dataset, Common.Data, Common.Preset, Common.Config,
            new("out", "run directory to create", Meta: "RUN_DIR"),
            new("resume", "continue the run in RUN_DIR where it stopped", Meta: "RUN_DIR"),
            new("overwrite", "replace a run already in --out", OptionKind.Flag),
            new("seed", "random seed (default 0)", Meta: "S"),
            new("lr", $"learning rate (default: the preset's recipe, {Official.LearningRate:0.#e0}; {Cpu.LearningRate:0.#e0} for the fmnist-cpu presets)", Meta: "LR"),
            new("warmup", $"linear warm-up steps (default: the preset's recipe, {Official.WarmupSteps}; {Cpu.WarmupSteps} for the fmnist-cpu presets)", Meta: "N"),
            new("schedule", $"official (warm-up, then constant), paper (warm-up, then ×gamma per epoch) or cosine (warm-up, then a half cosine to zero at the end of --epochs, --minutes or --max-steps); default: the preset's recipe, {Official.Schedule.ToString().ToLowerInvariant()}; {Cpu.Schedule.ToString().ToLowerInvariant()} for the fmnist-cpu presets", Meta: "KIND"),
            new("gamma", "per-epoch decay of the paper schedule (default 0.95)", Meta: "G"),
            new("augment", "none, flip or flip-shift (default per dataset)", Meta: "KIND"),
            new("train-limit", "use only the first N training images", Meta: "N"),
            new("exclude-classes", "leave these class labels out of training and test, e.g. 9 or 3,9 (fashion-mnist, mnist); `ood --ood-classes` then scores the held-out class", Meta: "LIST"),
            new("double", "train in float64", OptionKind.Flag),
            new("ema", $"keep an exponential moving average of the weights with this decay (e.g. 0.999; off for none; default: the preset's recipe, {Official.EmaDecay?.ToString() ?? "off"}; {Cpu.EmaDecay?.ToString() ?? "off"} for the fmnist-cpu presets); the test bound, samples, eval, sample and score then use it (see --weights)", Meta: "DECAY"),
        }.Concat(RunOptions).ToArray(),
        Run = RunTrain,
    };

    public static readonly Command FineTune = new()
    {
        Name = "finetune",
        Summary = "the fine-tuning phase: continue a run at lr 2e-5, keeping the optimiser state",
        Usage = "denseflow finetune --run RUN_DIR [--epochs N | --minutes M] [--out NEW_RUN_DIR]",
        Examples = "denseflow finetune --run runs/cifar --epochs 70",
        Options = new[] { Common.Run, new OptionSpec("out", "write the fine-tuned run here (default: continue in --run)", Meta: "RUN_DIR") }.Concat(RunOptions).ToArray(),
        Run = RunFineTune,
    };

    static readonly Dictionary<string, ScheduleKind> Schedules = new() { ["official"] = ScheduleKind.Official, ["paper"] = ScheduleKind.Paper, ["cosine"] = ScheduleKind.Cosine };
    static readonly Dictionary<string, BatchNormMode> BatchNorms = new() { ["sync"] = BatchNormMode.Sync, ["local"] = BatchNormMode.Local };
    static readonly Dictionary<string, Augmentation> Augments = new() { ["none"] = Augmentation.None, ["flip"] = Augmentation.Flip, ["flip-shift"] = Augmentation.FlipAndShift };

    static TrainingOptions ApplyRunOptions(Args a, TrainingOptions o)
    {
        if (a.Has("epochs") && a.Has("minutes")) throw a.Error("give either --epochs or --minutes, not both");
        return o with
        {
            Epochs = a.Has("epochs") ? a.Int("epochs", 1, "a positive integer") : (a.Has("minutes") ? null : o.Epochs),
            Minutes = a.Has("minutes") ? a.Double("minutes", 0, exclusive: true, what: "a positive number of minutes") : (a.Has("epochs") ? null : o.Minutes),
            MaxSteps = a.Has("max-steps") ? a.Int("max-steps", 1, "a positive integer") : o.MaxSteps,
            BatchSize = a.PositiveInt("batch", o.BatchSize),
            CheckpointEverySteps = a.Int("checkpoint-every", 0, "zero or a positive integer") ?? o.CheckpointEverySteps,
            EvalImages = a.Has("eval-images") ? a.Int("eval-images", 1, "a positive integer") : o.EvalImages,
            SamplesPerEpoch = a.Int("samples", 0, "zero or a positive integer") ?? o.SamplesPerEpoch,
            SampleTemperature = a.Double("temperature", 0, exclusive: true, what: "a positive number") ?? o.SampleTemperature,
            MaxBadSteps = a.PositiveInt("max-bad-steps", o.MaxBadSteps),
            RecomputeFraction = Common.RecomputeFraction(a, o.RecomputeFraction),
            ActivationLayout = Common.Layout(a, o.ActivationLayout),
            Device = a.String("device") ?? o.Device,
            BatchNorm = a.Has("batchnorm") ? a.Choice("batchnorm", BatchNormMode.Sync, BatchNorms) : o.BatchNorm,
            WorldSize = World.Current.Size,
        };
    }

    static double? EmaDecay(Args a, double? recipeDecay)
    {
        const string what = "a decay in (0, 1), e.g. 0.999, or off";
        if (!a.Has("ema")) return recipeDecay;
        if (a.String("ema") == "off") return null;
        var d = a.Double("ema", 0, exclusive: true, what: what);
        if (d >= 1) throw a.Error($"--ema must be {what}, got '{a.String("ema")}'");
        return d;
    }

    static int RunTrain(Args a)
    {
        if (a.Has("resume"))
        {
            if (a.Has("out") || a.Has("preset") || a.Has("config") || a.Has("dataset"))
                throw a.Error("--resume continues a run as it was configured: drop --out, --preset, --config and --dataset");
            var run = new RunDirectory(a.String("resume")!);
            // Rank 0 checks and reads; the others get its bytes (no shared file system needed).
            if (World.Current.Rank == 0 && !File.Exists(run.CheckpointFile)) throw a.Error($"--resume {run.Path}: no checkpoint.bin there");
            if (World.Current.Rank == 0 && !File.Exists(run.OptionsFile)) throw new TrainingException($"{run.OptionsFile}: missing (expected the run's run.json)");
            var saved = TrainingOptions.FromJson(SharedFiles.ReadAllText(World.Current, run.OptionsFile), run.OptionsFile);
            return Execute(run, ApplyRunOptions(a, saved), resume: true);
        }

        string dataset = Common.CheckDataset(a, Datasets.FashionMnist.Name);
        var (config, presetName) = Common.ResolveConfig(a, Datasets.Get(dataset).DefaultPreset);
        Common.RequireEightBits(a, config);
        var recipe = TrainingRecipe.For(presetName);
        var options = ApplyRunOptions(a, new TrainingOptions
        {
            Dataset = dataset,
            DataDir = a.String("data"),
            Preset = presetName,
            Seed = a.Int("seed", 0, "zero or a positive integer") ?? 0,
            BatchSize = recipe.BatchSize,
            LearningRate = a.Double("lr", 0, exclusive: true, what: "a positive number") ?? recipe.LearningRate,
            WarmupSteps = a.Int("warmup", 0, "zero or a positive integer") ?? recipe.WarmupSteps,
            Schedule = a.Choice("schedule", recipe.Schedule, Schedules),
            Gamma = a.Double("gamma", 0, exclusive: true, what: "a positive number") ?? 0.95,
            Augmentation = a.Has("augment") ? a.Choice("augment", Augmentation.None, Augments) : null,
            TrainLimit = a.Int("train-limit", 1, "a positive integer"),
            ExcludeClasses = Common.ClassList(a, "exclude-classes"),
            Double = a.Flag("double"),
            EmaDecay = EmaDecay(a, recipe.EmaDecay),
            Epochs = a.Has("epochs") || a.Has("minutes") || a.Has("max-steps") ? null : 10,
        });

        string outDir = a.Required("out");
        var runDir = new RunDirectory(outDir);
        bool writes = World.Current.Rank == 0;
        bool overwrite = a.Flag("overwrite");
        try { if (writes) runDir.EnsureNoRun(overwrite); }
        catch (RunExistsException) { throw a.Error($"--out {outDir}: already holds a run (use --resume to continue it, or --overwrite to replace it)"); }

        // The dataset decides the image shape; the preset decides the architecture.
        var train = TrainingData.Open(options, "train");
        var shape = train.Shape;
        if (config.InputShape[0] != shape.Channels || config.InputShape[1] != shape.Height || config.InputShape[2] != shape.Width)
        {
            AnsiConsole.MarkupLineInterpolated($"[yellow]note:[/] {presetName ?? "the configuration"} is for {config.InputShape[0]}×{config.InputShape[1]}×{config.InputShape[2]}; using it at the dataset's {shape.Channels}×{shape.Height}×{shape.Width}");
            config = config with { InputShape = new[] { shape.Channels, shape.Height, shape.Width } };
            config.Plan();
        }
        if (!a.Has("batch")) options = options with { BatchSize = TrainingRecipe.For(presetName, shape.Height).BatchSize };

        // Only once the data, the device, the model and the trainer are ready is an old run replaced.
        return Execute(runDir, options, resume: false, train, config,
            createRun: writes ? () => RunDirectory.Create(outDir, config, options, overwrite) : null);
    }

    static int RunFineTune(Args a)
    {
        var source = Common.ExistingRun(a);
        bool writes = World.Current.Rank == 0;
        if (writes && !File.Exists(source.CheckpointFile)) throw a.Error($"--run {source.Path}: no checkpoint.bin there");
        var saved = TrainingOptions.FromJson(SharedFiles.ReadAllText(World.Current, source.OptionsFile), source.OptionsFile);
        var options = ApplyRunOptions(a, saved with { FineTune = true, Epochs = null, Minutes = null, MaxSteps = null });
        if (options.Epochs is null && options.Minutes is null && options.MaxSteps is null) throw a.Error("give --epochs, --minutes or --max-steps for the fine-tuning phase");
        var target = source;
        if (a.String("out") is { } outDir)
        {
            target = new RunDirectory(outDir);
            try { if (writes) source.Fork(outDir); }
            catch (RunExistsException) { throw a.Error($"--out {outDir}: already holds a run"); }
        }
        // The fine-tuning phase counts its epochs and time from where the run stands.
        var state = Checkpoint.ReadState(SharedFiles.ReadAllBytes(World.Current, source.CheckpointFile), source.CheckpointFile);
        options = RunDirectory.FineTuneBudget(options, state);
        if (writes) target.WriteOptions(options);
        return Execute(target, options, resume: true);
    }

    /// <param name="createRun">for a fresh run: writes its directory, called once everything that can fail on bad input has been built</param>
    internal static int Execute(RunDirectory run, TrainingOptions options, bool resume, IImageDataset? train = null, DenseFlowConfig? freshConfig = null,
        Action? createRun = null)
    {
        var world = World.Current;
        train ??= TrainingData.Open(options, "train");
        var test = TrainingData.Open(options, "test");
        var device = DeviceOf(options.Device, world);
        var config = freshConfig ?? (resume ? Checkpoint.ReadConfig(SharedFiles.ReadAllBytes(world, run.CheckpointFile), run.CheckpointFile) : DenseFlowConfig.Load(run.ConfigFile));
        // A resumed run records the number of processes it continues with.
        if (resume && world.Rank == 0 && File.Exists(run.OptionsFile) && TrainingOptions.Load(run.OptionsFile) is { } recorded && recorded.WorldSize != world.Size)
            run.WriteOptions(recorded with { WorldSize = world.Size });
        // A fresh run's initial weights follow --seed; a resumed one takes them from the checkpoint.
        using var model = new DenseFlowModel(config, initSeed: options.Seed);
        if (options.Double) model.to(TorchSharp.torch.ScalarType.Float64);
        model.to(device);
        using var trainer = new Trainer(model, options, train, test, run.Path, resume, world);
        if (TestFault(world.Rank) is { } faultStep) trainer.LossFault = step => step == faultStep;
        createRun?.Invoke();
        if (world.Size > 1) AnsiConsole.MarkupLineInterpolated($"data parallel: {world.Description}; global batch {options.BatchSize}, BatchNorm {options.BatchNorm.ToString().ToLowerInvariant()}");

        using var cancel = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            e.Cancel = true;
            cancel.Cancel();
            Console.Error.WriteLine("interrupt: finishing the current step and writing a checkpoint (Ctrl-C again to abort)");
        };
        Console.CancelKeyPress += onCancel;
        // SIGTERM: stop at the next step boundary and checkpoint, like Ctrl-C.
        using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, ctx =>
        {
            ctx.Cancel = true;
            cancel.Cancel();
        });

        AnsiConsole.MarkupLineInterpolated($"[bold]DenseFlow[/] {(resume ? "resuming" : "training")} on [green]{options.Dataset}[/] ({train.Count} images), {model.ParameterCount:N0} parameters, batch {options.BatchSize}, run directory [blue]{run.Path}[/]");
        if (resume) AnsiConsole.MarkupLineInterpolated($"continuing at step {trainer.State.Step}, epoch {trainer.State.Epoch}");
        trainer.Warning += w => AnsiConsole.MarkupLineInterpolated($"[yellow]warning:[/] {w}");
        trainer.EpochEnded += r => AnsiConsole.MarkupLineInterpolated(
            $"epoch {r.Epoch} (step {r.Step}): test bpd [bold]{Common.Fmt(r.TestBpd)}[/], train bpd {Common.Fmt(r.TrainBpd)}, inverse error {r.InverseError:E2}{(r.SampleGrid is null ? "" : $", samples {r.SampleGrid}")}");

        double imagesPerSecond = double.NaN;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        // Steady state: from the end of the first step (ActNorm's init, warm-up) to the end of the last.
        double Comm() => world is MpiCommunicator m ? m.CommunicationSeconds : 0;
        (double Time, double Comm, long Step)? first = null, latest = null;
        trainer.Progress += p =>
        {
            imagesPerSecond = p.ImagesPerSecond;
            latest = (clock.Elapsed.TotalSeconds, Comm(), p.Step);
            first ??= latest;
        };
        TrainingResult result;
        if (Common.Interactive)
        {
            result = default!;
            AnsiConsole.Progress().AutoClear(false).Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
                .Start(ctx =>
                {
                    var task = ctx.AddTask("training", maxValue: 1.0);
                    trainer.Progress += p =>
                    {
                        double fraction = p.BudgetSeconds.HasValue ? p.ElapsedSeconds / p.BudgetSeconds.Value
                            : p.TotalSteps.HasValue ? p.Step / (double)p.TotalSteps.Value : 0;
                        task.Value = Math.Min(1.0, fraction);
                        task.Description = $"step {p.Step} ep {p.Epoch} bpd {Common.Fmt(p.Bpd, "F3")} {Common.Fmt(p.ImagesPerSecond, "F1")} img/s lr {p.LearningRate:E1}{(p.BadSteps > 0 ? $" bad {p.BadSteps}" : "")}";
                    };
                    result = trainer.Run(cancel.Token);
                    task.Value = 1.0;
                });
        }
        else
        {
            var last = DateTime.UtcNow;
            trainer.Progress += p =>
            {
                if ((DateTime.UtcNow - last).TotalSeconds < 15) return;
                last = DateTime.UtcNow;
                Console.WriteLine($"step {p.Step} epoch {p.Epoch} batch {p.BatchInEpoch}/{p.BatchesPerEpoch} ({p.ImagesSeen:N0} images): bpd {Common.Fmt(p.Bpd, "F3")}, {Common.Fmt(p.ImagesPerSecond, "F1")} images/s, lr {p.LearningRate:E2}, {Common.Fmt(p.ElapsedSeconds, "F0")} s{(p.BadSteps > 0 ? $", {p.BadSteps} bad steps" : "")}");
            };
            result = trainer.Run(cancel.Token);
        }
        Console.CancelKeyPress -= onCancel;

        AnsiConsole.MarkupLineInterpolated($"stopped: {result.StopReason} after {result.Steps} steps ({Common.Fmt(result.ElapsedSeconds / 60, "F1")} min); last test bpd {(result.LastTestBpd is { } b ? Common.Fmt(b) : "n/a")}");
        // Throughput of the training steps (global images), and under MPI the share of rank 0's time inside MPI calls.
        string communication = world is MpiCommunicator mpi
            ? $"; rank 0 spent {Common.Fmt(mpi.CommunicationSeconds, "F2")} s of {Common.Fmt(clock.Elapsed.TotalSeconds, "F2")} s in MPI calls ({Common.Fmt(100 * mpi.CommunicationSeconds / clock.Elapsed.TotalSeconds, "F1")} %)"
            : "";
        AnsiConsole.MarkupLineInterpolated($"throughput: {Common.Fmt(imagesPerSecond, "F1")} images/s{communication}");
        if (first is { } f && latest is { } l && l.Step > f.Step)
        {
            double seconds = l.Time - f.Time;
            AnsiConsole.MarkupLineInterpolated($"steps {f.Step + 1}–{l.Step}: {Common.Fmt((l.Step - f.Step) * options.BatchSize / seconds, "F1")} images/s, {Common.Fmt(seconds / (l.Step - f.Step), "F3")} s per step{(world.Size > 1 ? $", {Common.Fmt(100 * (l.Comm - f.Comm) / seconds, "F1")} % of rank 0's time in MPI calls" : "")}");
        }
        AnsiConsole.MarkupLineInterpolated($"run directory: {run.Path} (checkpoint.bin, model.dfn, metrics.jsonl, curve.png, samples/, tensorboard/)");
        return 0;
    }

    /// <summary>
    /// The torch device of this rank. A bare `cuda` under MPI means one GPU per rank: cuda:0 when the launcher
    /// gave each rank its own CUDA_VISIBLE_DEVICES (one entry), else cuda:local-rank.
    /// </summary>
    static TorchSharp.torch.Device DeviceOf(string device, ICommunicator world)
    {
        if (world.Size == 1 || device != "cuda") return TorchSharp.torch.device(device);
        string? visible = Environment.GetEnvironmentVariable("CUDA_VISIBLE_DEVICES");
        bool ownDevice = visible is not null && visible.Split(',', StringSplitOptions.RemoveEmptyEntries).Length == 1;
        return TorchSharp.torch.device(ownDevice ? "cuda:0" : $"cuda:{world.LocalRank}");
    }

    /// <summary>Test hook of the multi-process tests: DENSEFLOW_TEST_NAN_STEP=R:S makes rank R's loss NaN at step S.</summary>
    static long? TestFault(int rank)
    {
        var parts = Environment.GetEnvironmentVariable("DENSEFLOW_TEST_NAN_STEP")?.Split(':');
        return parts is { Length: 2 } && int.TryParse(parts[0], out int r) && r == rank && long.TryParse(parts[1], out long s) ? s : null;
    }
}
