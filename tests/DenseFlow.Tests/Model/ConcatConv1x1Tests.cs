using DenseFlow.Nets;
using TorchSharp;
using static DenseFlow.Tests.Model.TestUtil;
using static TorchSharp.torch;

namespace DenseFlow.Tests.Model;

/// <summary>The dense block's 1×1 convolution of a concatenation that autograd does not keep.</summary>
public class ConcatConv1x1Tests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Matches_conv_of_cat_in_value_and_every_gradient(bool bias)
    {
        using var scope = NewDisposeScope();
        torch.manual_seed(400);
        using var conv = nn.Conv2d(3 + 5 + 2, 7, 1, bias: bias).to(ScalarType.Float64);
        var pieces = new[] { Randn(401, ScalarType.Float64, 2, 3, 4, 5), Randn(402, ScalarType.Float64, 2, 5, 4, 5), Randn(403, ScalarType.Float64, 2, 2, 4, 5) }
            .Select(p => p.requires_grad_(true)).ToArray();
        var upstream = Randn(404, ScalarType.Float64, 2, 7, 4, 5);

        var plain = conv.forward(cat(pieces, 1));
        plain.backward([upstream]);
        var expectedPieces = pieces.Select(p => p.grad!.clone()).ToArray();
        var expectedWeight = conv.weight!.grad!.clone();
        var expectedBias = bias ? conv.bias!.grad!.clone() : null;
        foreach (var p in pieces) p.grad!.zero_();
        conv.zero_grad();

        var kept = ConcatConv1x1.Forward(conv, pieces);
        Assert.True(kept.requires_grad);
        AssertClose(plain, kept, 1e-12, "output");
        kept.backward([upstream]);
        AssertClose(expectedWeight, conv.weight!.grad!, 1e-12, "weight gradient");
        if (bias) AssertClose(expectedBias!, conv.bias!.grad!, 1e-12, "bias gradient");
        for (int i = 0; i < pieces.Length; i++) AssertClose(expectedPieces[i], pieces[i].grad!, 1e-12, $"gradient of piece {i}");
    }

    [Fact]
    public void Without_autograd_it_is_a_plain_conv_of_cat()
    {
        using var scope = NewDisposeScope();
        torch.manual_seed(410);
        using var conv = nn.Conv2d(6, 4, 1);
        var pieces = new[] { Randn(411, ScalarType.Float32, 1, 2, 3, 3), Randn(412, ScalarType.Float32, 1, 4, 3, 3) };
        using var _ = no_grad();
        var y = ConcatConv1x1.Forward(conv, pieces);
        Assert.True(Same(conv.forward(cat(pieces, 1)), y));
    }
}
