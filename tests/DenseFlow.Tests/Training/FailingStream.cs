namespace DenseFlow.Tests.Training;

/// <summary>A stream that fails like a full disk after a number of bytes.</summary>
internal sealed class FailingStream : Stream
{
    readonly Stream _inner;
    long _left;
    public FailingStream(Stream inner, long failAfter) { _inner = inner; _left = failAfter; }
    public override void Write(byte[] buffer, int offset, int count)
    {
        if (count > _left) throw new IOException("No space left on device (simulated)");
        _left -= count;
        _inner.Write(buffer, offset, count);
    }
    public override void Write(ReadOnlySpan<byte> buffer)
    {
        if (buffer.Length > _left) throw new IOException("No space left on device (simulated)");
        _left -= buffer.Length;
        _inner.Write(buffer);
    }
    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => _inner.Length;
    public override long Position { get => _inner.Position; set => throw new NotSupportedException(); }
    public override void Flush() => _inner.Flush();
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
