using DenseFlow.Model;

namespace DenseFlow.Tests.Training;

/// <summary>Small configurations that train in seconds on 2 cores.</summary>
public static class TinyModels
{
    /// <summary>28×28×1 (Fashion-MNIST), two scales: 14×14 then 7×7 with 7 landmarks.</summary>
    public static DenseFlowConfig FashionMnist => new()
    {
        InputShape = [1, 28, 28], UnitsPerBlock = [2, 1], ModulesPerUnit = [1, 1], GrowthRate = 2,
        CouplingWidth = [8, 8], Landmarks = [4, 7], DenseDepth = 2, DenseGrowth = 8,
        DequantSteps = 1, DequantWidth = 8, DequantContextChannels = 8, DequantDepth = 1, DequantGrowth = 8,
        DequantContextDepth = 1, DequantContextGrowth = 4,
    };
}
