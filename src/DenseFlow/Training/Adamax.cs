using TorchSharp;
using static TorchSharp.torch;

namespace DenseFlow.Training;

/// <summary>
/// Adamax (SPEC §7: β 0.9, 0.999, eps 1e−8, no weight decay), the same update as torch.optim.Adamax.
/// Written here so its whole state (step and both moment tensors) is saved with a checkpoint and a
/// resumed run continues bit for bit.
/// </summary>
public sealed class Adamax : IDisposable
{
    readonly IReadOnlyList<(string Name, Tensor Param)> _params;
    readonly Tensor[] _expAvg;
    readonly Tensor[] _expInf;
    readonly bool[] _hadGradient;
    public double Beta1 { get; }
    public double Beta2 { get; }
    public double Eps { get; }
    public long Step { get; private set; }

    public Adamax(IEnumerable<(string Name, Tensor Param)> parameters, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8)
    {
        _params = parameters.ToList();
        Beta1 = beta1; Beta2 = beta2; Eps = eps;
        _expAvg = _params.Select(p => zeros_like(p.Param).DetachFromDisposeScope()).ToArray();
        _expInf = _params.Select(p => zeros_like(p.Param).DetachFromDisposeScope()).ToArray();
        _hadGradient = new bool[_params.Count];
    }

    /// <summary>
    /// Drops the gradients (PyTorch 2's set_to_none): backward then hands each parameter its gradient buffer
    /// instead of adding it to zeros, one fill and one add over every parameter fewer per step. The update stays
    /// torch 1.13's (zeroed gradients): <see cref="Apply"/> treats a dropped gradient as zeros.
    /// </summary>
    public void ZeroGrad()
    {
        foreach (var (_, p) in _params) p.grad = null;
    }

    /// <summary>One update with learning rate <paramref name="lr"/>; parameters that never had a gradient are left alone.</summary>
    public void Apply(double lr)
    {
        Step++;
        double clr = lr / (1 - Math.Pow(Beta1, Step));
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        for (int i = 0; i < _params.Count; i++)
        {
            var p = _params[i].Param;
            var g = p.grad;
            if (g is null)
            {
                // Never had a gradient: left alone, as torch.optim does. Had one before this step: a zero gradient,
                // what a zeroed .grad would have held.
                if (!_hadGradient[i]) continue;
                g = zeros_like(p);
            }
            _hadGradient[i] = true;
            _expAvg[i].mul_(Beta1).add_(g, alpha: 1 - Beta1);
            _expInf[i].mul_(Beta2).clamp_(min: g.abs().add_(Eps)); // max(β2·u, |g| + ε) in place
            p.addcdiv_(_expAvg[i], _expInf[i], value: -clr);
        }
    }

    /// <summary>The state to checkpoint: step, then the moment tensors by parameter name.</summary>
    public IEnumerable<(string Name, Tensor Value)> State()
    {
        for (int i = 0; i < _params.Count; i++)
        {
            yield return ("exp_avg." + _params[i].Name, _expAvg[i]);
            yield return ("exp_inf." + _params[i].Name, _expInf[i]);
        }
    }

    public void Restore(long step, IReadOnlyDictionary<string, Tensor> state)
    {
        using var _ = no_grad();
        for (int i = 0; i < _params.Count; i++)
        {
            foreach (var (prefix, target) in new[] { ("exp_avg.", _expAvg[i]), ("exp_inf.", _expInf[i]) })
            {
                string key = prefix + _params[i].Name;
                if (!state.TryGetValue(key, out var value)) throw new InvalidDataException($"optimizer state: entry '{key}' missing");
                if (!value.shape.SequenceEqual(target.shape)) throw new InvalidDataException($"optimizer state: entry '{key}' has shape [{string.Join(",", value.shape)}], expected [{string.Join(",", target.shape)}]");
                target.copy_(value);
            }
            _hadGradient[i] = _expInf[i].any().item<bool>(); // every update leaves u ≥ ε
        }
        Step = step;
    }

    public void Dispose()
    {
        foreach (var t in _expAvg) t.Dispose();
        foreach (var t in _expInf) t.Dispose();
    }
}
