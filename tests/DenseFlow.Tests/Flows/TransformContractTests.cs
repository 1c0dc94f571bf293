using DenseFlow.Flows;
using DenseFlow.Nets;
using DenseFlow.Noise;
using TorchSharp;
using static TorchSharp.torch;
using static DenseFlow.Tests.Model.TestUtil;

namespace DenseFlow.Tests.Flows;

/// <summary>The one transform contract (SPEC §1): composites of bijections and surjections, and the context's noise.</summary>
public sealed class TransformContractTests
{
    const ScalarType F64 = ScalarType.Float64;

    static DenseNystromCouplingNet DenseNet(int channels) =>
        new(channels - channels / 2, 2 * (channels / 2), width: 8, denseDepth: 2, denseGrowth: 4, landmarks: 4);

    static CompositeTransform Prepared(IEnumerable<Transform> sequence, long seed)
    {
        var composite = new CompositeTransform(sequence);
        composite.to(F64);
        composite.eval();
        Perturb(composite, seed);
        return composite;
    }

    [Fact]
    public void CompositeOfBijections_RoundTrips_WithLogDetOfTheWholeJacobian()
    {
        using var scope = NewDisposeScope();
        torch.manual_seed(300);
        var composite = Prepared(new Transform[] { new Shift(-0.5), new Squeeze(), new GlowModule(4, DenseNet(4)), new GlowModule(4, DenseNet(4)) }, 301);
        var context = new TransformContext(new SeededNoise(1), F64);
        CheckBijection(x => composite.forward(x, context), z => composite.inverse(z, context), Randn(302, F64, 2, 1, 4, 4));
    }

    [Fact]
    public void CompositeWithSqueezeAndDrop_SumsTerms_RecordsDroppedHalf_AndInvertsWithIt()
    {
        using var scope = NewDisposeScope();
        torch.manual_seed(310);
        var first = new GlowModule(4, DenseNet(4));
        var last = new GlowModule(8, DenseNet(8));
        var composite = Prepared(new Transform[] { first, new Transition(), last }, 311);
        var x = Randn(312, F64, 2, 4, 4, 4);
        var dropped = new List<Tensor>();
        var (z, term) = composite.forward(x, new TransformContext(new SeededNoise(1), F64) { Dropped = dropped });

        // Independently: module, squeeze, keep half and score the other under N(0, I) by hand, module.
        var (h, ld0) = first.forward(x);
        var squeezed = Squeeze.Apply(h);
        var droppedHalf = squeezed.narrow(1, 8, 8);
        var logN = (-0.5 * droppedHalf.square() - 0.5 * Math.Log(2 * Math.PI)).flatten(1).sum(1);
        var (expectedZ, ld1) = last.forward(squeezed.narrow(1, 0, 8));
        AssertClose(expectedZ, z, 1e-12, "composite output");
        AssertClose(ld0 + logN + ld1, term, 1e-10, "composite term = log-dets + log N(dropped)");
        Assert.Single(dropped);
        AssertClose(droppedHalf, dropped[0], 0, "recorded dropped half");

        var back = composite.inverse(z, new TransformContext(new SeededNoise(1), F64) { Dropped = dropped.ToList(), ReplayDropped = true });
        AssertClose(x, back, 1e-10, "inverse with the recorded half vs x");
    }

    [Fact]
    public void TransitionInverse_DrawsDroppedHalfFromTheContextNoise_AtTemperature()
    {
        using var scope = NewDisposeScope();
        var kept = Randn(320, F64, 2, 4, 2, 2);
        var eps = Randn(321, F64, 2, 4, 2, 2);
        var replay = new ReplayNoise(new[] { eps });
        var v = new Transition().inverse(kept, new TransformContext(replay, F64) { Temperature = 0.5 });
        Assert.Equal(1, replay.Used);
        var squeezed = Squeeze.Apply(v);
        AssertClose(kept, squeezed.narrow(1, 0, 4), 0, "kept half");
        AssertClose(0.5 * eps, squeezed.narrow(1, 4, 4), 1e-15, "dropped half = T·ε");
    }

    [Fact]
    public void ModelState_KeepsItsNames_UnitStepsAreSavedAsModules_AndTheCompositeAddsNone()
    {
        using var scope = NewDisposeScope();
        using var model = new DenseFlow.Model.DenseFlowModel(TinyConfig(), initSeed: 1);
        var keys = model.state_dict().Keys.ToList();
        Assert.Contains(keys, k => k.StartsWith("blocks.0.units.0.modules.0.actnorm."));
        Assert.Contains(keys, k => k.StartsWith("transitions.0."));
        Assert.DoesNotContain(keys, k => k.Contains(".steps.") || k.StartsWith("flow."));
        // The composite cascades exactly the registered blocks and transitions.
        var flow = model.Flow.Transforms;
        Assert.Equal(2 + model.Blocks.Count + model.Transitions.Count, flow.Count);
        Assert.Same(model.Blocks[0], flow[2]);
        Assert.Same(model.Transitions[0], flow[3]);
    }
}
