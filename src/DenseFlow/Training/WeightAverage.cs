using DenseFlow.Model;
using static TorchSharp.torch;

namespace DenseFlow.Training;

/// <summary>
/// Exponential moving average of the trainable parameters (Polyak averaging), for evaluation and sampling.
/// After optimisation step t (t = 1, 2, …): avg ← d_t·avg + (1 − d_t)·θ with d_t = min(decay, (1 + t)/(10 + t)),
/// the warm-up of TensorFlow's ExponentialMovingAverage, so early averages are not dominated by the
/// initial weights. Buffers (BatchNorm running statistics) are not averaged; <see cref="Apply"/> can re-estimate
/// them for the averaged weights (<see cref="BatchNormStatistics"/>), else the live ones are used.
/// </summary>
public sealed class WeightAverage : IDisposable
{
    /// <summary>Prefix of the average's entries in a checkpoint's optimiser section.</summary>
    public const string StatePrefix = "ema.";

    readonly List<(string Name, Tensor Param, Tensor Average)> _entries = new();
    readonly DenseFlowModel _model;

    public double Decay { get; }

    public WeightAverage(DenseFlowModel model, double decay)
    {
        if (!(decay > 0 && decay < 1)) throw new ArgumentOutOfRangeException(nameof(decay), $"EMA decay must be in (0, 1), got {decay}");
        Decay = decay;
        _model = model;
        using var _ = no_grad();
        foreach (var (name, p) in model.named_parameters())
        {
            if (!p.requires_grad) continue;
            var avg = p.detach().clone();
            avg.DetachFromDisposeScope();
            _entries.Add((name, p, avg));
        }
    }

    /// <summary>The decay applied after optimisation step <paramref name="step"/> (1-based).</summary>
    public double DecayAt(long step) => Math.Min(Decay, (1.0 + step) / (10.0 + step));

    public void Update(long step)
    {
        double d = DecayAt(step);
        using var _ = no_grad();
        foreach (var (_, p, avg) in _entries) avg.mul_(d).add_(p.detach(), alpha: 1 - d);
    }

    /// <summary>The averaged value of each parameter, by parameter name.</summary>
    public IEnumerable<(string Name, Tensor Value)> State() => _entries.Select(e => (StatePrefix + e.Name, e.Average));

    /// <summary>Restores the average from checkpoint entries; returns false (average = current weights) when they hold none.</summary>
    public bool Restore(IReadOnlyDictionary<string, Tensor> state)
    {
        using var _ = no_grad();
        if (!state.Keys.Any(k => k.StartsWith(StatePrefix, StringComparison.Ordinal)))
        {
            foreach (var (_, p, avg) in _entries) avg.copy_(p);
            return false;
        }
        foreach (var (name, _, avg) in _entries)
        {
            string key = StatePrefix + name;
            if (!state.TryGetValue(key, out var value)) throw new InvalidDataException($"weight average: entry '{key}' missing");
            if (!value.shape.SequenceEqual(avg.shape)) throw new InvalidDataException($"weight average: entry '{key}' has shape [{string.Join(",", value.shape)}], expected [{string.Join(",", avg.shape)}]");
            avg.copy_(value);
        }
        return true;
    }

    /// <summary>
    /// Puts the averaged weights into the model until the returned scope is disposed, then the live ones back.
    /// <paramref name="recalibrate"/>, if given, runs with the averaged weights in place (to re-estimate BatchNorm's
    /// statistics for them, <see cref="BatchNormStatistics"/>); the live buffers come back with the live weights.
    /// </summary>
    public IDisposable Apply(Action? recalibrate = null)
    {
        using var _ = no_grad();
        var live = _entries.Select(e => { var c = e.Param.detach().clone(); c.DetachFromDisposeScope(); e.Param.copy_(e.Average); return c; }).ToList();
        var buffers = recalibrate is null ? new List<Tensor>() : _model.buffers().ToList();
        var liveBuffers = buffers.Select(b => { var c = b.detach().clone(); c.DetachFromDisposeScope(); return c; }).ToList();
        var restorer = new Restorer(() =>
        {
            using var __ = no_grad();
            for (int i = 0; i < _entries.Count; i++) { _entries[i].Param.copy_(live[i]); live[i].Dispose(); }
            for (int i = 0; i < buffers.Count; i++) { buffers[i].copy_(liveBuffers[i]); liveBuffers[i].Dispose(); }
        });
        try { recalibrate?.Invoke(); }
        catch { restorer.Dispose(); throw; }
        return restorer;
    }

    /// <summary>Copies averaged values from checkpoint entries into a model's parameters (loading a run's EMA weights).</summary>
    public static bool LoadInto(DenseFlowModel model, IReadOnlyDictionary<string, Tensor> state)
    {
        using var _ = no_grad();
        bool any = false;
        foreach (var (name, p) in model.named_parameters())
        {
            if (!state.TryGetValue(StatePrefix + name, out var value)) continue;
            p.copy_(value);
            any = true;
        }
        return any;
    }

    sealed class Restorer(Action restore) : IDisposable
    {
        bool _done;
        public void Dispose() { if (_done) return; _done = true; restore(); }
    }

    public void Dispose()
    {
        foreach (var e in _entries) e.Average.Dispose();
        _entries.Clear();
    }
}
