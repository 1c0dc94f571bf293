using TorchSharp;
using SummaryWriter = TorchSharp.Modules.SummaryWriter;

namespace DenseFlow.Training.Logging;

/// <summary>
/// Scalars for TensorBoard, written through TorchSharp's <c>torch.utils.tensorboard.SummaryWriter</c>.
/// That writer opens, appends and closes the events file for every event, so each scalar is on disk as
/// soon as <see cref="AddScalar"/> returns and there is nothing to flush or close; <see cref="Dispose"/>
/// only stops further writes. Each instance creates its own <c>events.out.tfevents.*</c> file in the
/// directory, so a resumed run simply adds a file next to the old one.
/// </summary>
public sealed class TensorBoardLog : IDisposable
{
    SummaryWriter? _writer;

    public string LogDir { get; }

    public TensorBoardLog(string logDir)
    {
        ArgumentException.ThrowIfNullOrEmpty(logDir);
        // The writer computes CRCs in LibTorchSharp; make sure the native library is loaded first.
        torch.InitializeDeviceType(DeviceType.CPU);
        _writer = torch.utils.tensorboard.SummaryWriter(logDir);
        LogDir = _writer.LogDir;
    }

    /// <summary>
    /// Records <paramref name="value"/> under <paramref name="tag"/> (e.g. "train/bpd") at <paramref name="step"/>.
    /// TorchSharp stores steps as int, so steps beyond int.MaxValue are rejected rather than wrapped.
    /// </summary>
    public void AddScalar(string tag, float value, long step)
    {
        ArgumentException.ThrowIfNullOrEmpty(tag);
        if (step is < int.MinValue or > int.MaxValue)
            throw new ArgumentOutOfRangeException(nameof(step), step, "TorchSharp's SummaryWriter only supports 32-bit steps.");
        var writer = _writer ?? throw new ObjectDisposedException(nameof(TensorBoardLog));
        writer.add_scalar(tag, value, (int)step);
    }

    public void Dispose() => _writer = null;
}
