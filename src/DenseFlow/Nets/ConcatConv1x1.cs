using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DenseFlow.Nets;

/// <summary>
/// A 1×1 convolution of the channel concatenation of <c>pieces</c>, for the dense block, whose every
/// layer convolves the concatenation of all earlier outputs. Left to autograd, each layer would keep its
/// own copy of that growing concatenation for the backward pass — memory quadratic in the depth, most of
/// a training step's. Here the backward pass concatenates the pieces again (they are kept anyway: each is
/// a layer's output) and computes the 1×1 convolution's gradients itself (two matrix products), so no
/// concatenation is kept and nothing is recomputed but the copy. The forward result is the same as
/// <c>conv(cat(pieces))</c>; gradients agree to float rounding.
/// </summary>
public static class ConcatConv1x1
{
    public static Tensor Forward(Conv2d conv, IReadOnlyList<Tensor> pieces)
    {
        if (pieces.Count == 1) return conv.forward(pieces[0]);
        bool recording = is_grad_enabled() && (conv.weight!.requires_grad || pieces.Any(p => p.requires_grad));
        if (!recording)
        {
            using var x = cat(pieces.ToArray(), 1);
            return conv.forward(x);
        }
        var args = new object?[2 + pieces.Count];
        args[0] = conv.weight;
        args[1] = conv.bias;
        for (int i = 0; i < pieces.Count; i++) args[2 + i] = pieces[i];
        return Function.apply(args!);
    }

    sealed class Function : autograd.SingleTensorFunction<Function>
    {
        public override string Name => "DenseFlowConcatConv1x1";

        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            var weight = (Tensor)vars[0];
            var bias = vars[1] as Tensor;
            var pieces = vars.Skip(2).Cast<Tensor>().ToArray();
            ctx.save_for_backward([weight, .. pieces]);
            ctx.save_data("has_bias", bias is not null);
            using var x = cat(pieces, 1);
            return nn.functional.conv2d(x, weight, bias);
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
        {
            using var scope = NewDisposeScope();
            var saved = ctx.get_saved_variables();
            var weight = saved[0];
            var pieces = saved.Skip(1).ToArray();
            long outChannels = weight.shape[0], inChannels = weight.shape[1];
            var x = cat(pieces, 1);
            // y[b,o,p] = Σᵢ W[o,i]·x[b,i,p] + bias[o]
            var gradWeight = tensordot(gradOutput, x, [0, 2, 3], [0, 2, 3]).view(outChannels, inChannels, 1, 1);
            var gradBias = (bool)ctx.get_data("has_bias") ? gradOutput.sum([0, 2, 3]) : null;
            var gradInput = nn.functional.conv2d(gradOutput, weight.transpose(0, 1).contiguous());
            var gradPieces = gradInput.split(pieces.Select(p => p.shape[1]).ToArray(), 1);
            var result = new List<Tensor> { gradWeight.MoveToOuterDisposeScope(), gradBias?.MoveToOuterDisposeScope()! };
            result.AddRange(gradPieces.Select(g => g.MoveToOuterDisposeScope()));
            return result;
        }
    }
}
