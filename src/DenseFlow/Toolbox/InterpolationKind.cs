namespace DenseFlow.Toolbox;

/// <summary>How latents are interpolated between two end points.</summary>
public enum InterpolationKind
{
    /// <summary>Along the great circle (slerp), the usual choice for Gaussian latents: norms stay typical.</summary>
    Spherical,
    /// <summary>Along the straight line; mid-points have smaller norms than samples of the prior.</summary>
    Linear,
}
