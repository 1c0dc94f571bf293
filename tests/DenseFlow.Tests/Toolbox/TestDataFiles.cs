namespace DenseFlow.Tests.Toolbox;

/// <summary>Files in tests/DenseFlow.Tests/TestData (copied next to the test binaries), with the scripts that made them.</summary>
public static class TestDataFiles
{
    public static string Path(string name) => System.IO.Path.Combine(AppContext.BaseDirectory, "TestData", name);

    /// <summary>A tiny TorchScript network in the format of clean-fid's inception-2015-12-05.pt (make_standin_inception.py).</summary>
    public static string StandInInception => Path("standin-inception.pt");
}
