namespace DenseFlow.Cli;

static class Runtime
{
    /// <summary>oneDNN convolutions dominate DenseFlow's cost: use every core.</summary>
    public static void Initialize()
    {
        int threads = Environment.GetEnvironmentVariable("DENSEFLOW_THREADS") is { } s && int.TryParse(s, out int n) && n > 0 ? n : Environment.ProcessorCount;
        TorchSharp.torch.set_num_threads(threads);
    }
}
