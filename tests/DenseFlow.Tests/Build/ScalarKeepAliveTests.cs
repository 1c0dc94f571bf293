using static TorchSharp.torch;

namespace DenseFlow.Tests.Build;

/// <summary>
/// build/ScalarKeepAlive: TorchSharp 0.107 lets the finalizer of a Scalar made on the fly free it while libtorch
/// reads it, when a garbage collection starts on another thread. Unpatched, the loop below failed 19 times in
/// 8 s in a bare program and 3 times in 5 s inside the test host ("Unknown scalar type.", "Expected false to be true").
/// </summary>
public class ScalarKeepAliveTests
{
    const string Marker = "<DenseFlow>ScalarsKeptAlive";

    [Fact]
    public void TorchSharpAndOurAssembliesAreThePatchedCopies()
    {
        Assert.NotNull(typeof(Tensor).Assembly.GetType(Marker));
        Assert.NotNull(typeof(DenseFlow.Model.DenseFlowModel).Assembly.GetType(Marker));
        Assert.NotNull(typeof(ScalarKeepAliveTests).Assembly.GetType(Marker));
    }

    [Fact]
    public void ScalarArithmeticSurvivesGarbageCollectionsOnAnotherThread()
    {
        bool stop = false;
        var collector = new Thread(() => { while (!Volatile.Read(ref stop)) { GC.Collect(); GC.WaitForPendingFinalizers(); } }) { IsBackground = true };
        using var x = ones(8, 8);
        using var b = ones(8, 8);
        var messages = new List<string>();
        long iterations = 0, failures = 0;
        collector.Start();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            while (clock.Elapsed.TotalSeconds < 8)
            {
                iterations++;
                // Inside TorchSharp: int and double operands, the alpha of a + b; here: clamp's two numbers.
                try { using var y = x - 128; using var z = y * 0.5; using var w = z + b; using var c = w.clamp(0, 255); }
                catch (Exception e) { if (++failures <= 5) messages.Add(e.Message.Split('\n')[0]); }
            }
        }
        finally { Volatile.Write(ref stop, true); collector.Join(); }
        Assert.True(failures == 0, $"{failures} of {iterations} iterations failed: {string.Join(" | ", messages)}");
        Assert.True(iterations > 1000, $"only {iterations} iterations ran");
    }
}
