using System.Buffers.Binary;
using System.Text;
using DenseFlow.Training.Logging;

namespace DenseFlow.Tests.Training.Logging;

public sealed class TensorBoardLogTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("denseflow-tb-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void WritesScalarEventsInTfRecordFraming()
    {
        var written = new[] { ("train/bpd", 5.5f, 10L), ("train/bpd", 4.25f, 20L), ("test/bpd", 4.5f, 20L) };
        using (var log = new TensorBoardLog(_dir))
        {
            foreach (var (tag, value, step) in written) log.AddScalar(tag, value, step);
        }

        string file = Assert.Single(Directory.GetFiles(_dir, "events.out.tfevents.*"));
        byte[] bytes = File.ReadAllBytes(file);
        Assert.NotEmpty(bytes);

        var records = ReadTfRecords(bytes);
        Assert.True(records.Count >= written.Length + 1, $"{records.Count} records for {written.Length} scalars");

        // First the file-version event, then one event per scalar with tag, value and step intact.
        Assert.StartsWith("brain.Event:", ParseEvent(records[0]).FileVersion);
        var scalars = records.Skip(1).Select(ParseEvent).Where(e => e.Tag != null)
            .Select(e => (e.Tag!, e.Value, e.Step)).ToArray();
        Assert.Equal(written, scalars);
    }

    [Fact]
    public void RejectsUseAfterDisposeAndHugeSteps()
    {
        var log = new TensorBoardLog(_dir);
        Assert.Throws<ArgumentOutOfRangeException>(() => log.AddScalar("x", 1, (long)int.MaxValue + 1));
        log.Dispose();
        Assert.Throws<ObjectDisposedException>(() => log.AddScalar("x", 1, 0));
    }

    /// <summary>TFRecord: uint64 length, uint32 masked CRC32C of the length, data, uint32 masked CRC32C of the data.</summary>
    static List<byte[]> ReadTfRecords(byte[] bytes)
    {
        var records = new List<byte[]>();
        var span = bytes.AsSpan();
        while (span.Length > 0)
        {
            Assert.True(span.Length >= 12, "truncated record header");
            ulong length = BinaryPrimitives.ReadUInt64LittleEndian(span);
            Assert.Equal(MaskedCrc(span[..8]), BinaryPrimitives.ReadUInt32LittleEndian(span[8..]));
            Assert.True((ulong)span.Length >= 16 + length, "truncated record");
            var data = span.Slice(12, (int)length);
            Assert.Equal(MaskedCrc(data), BinaryPrimitives.ReadUInt32LittleEndian(span[(12 + (int)length)..]));
            records.Add(data.ToArray());
            span = span[(16 + (int)length)..];
        }
        return records;
    }

    static uint MaskedCrc(ReadOnlySpan<byte> data)
    {
        // CRC-32C (Castagnoli), reflected polynomial 0x82F63B78, then TensorFlow's masking.
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F63B78 : crc >> 1;
        }
        crc = ~crc;
        return ((crc >> 15) | (crc << 17)) + 0xa282ead8;
    }

    /// <summary>Just enough protobuf to read tensorflow.Event { step=2, file_version=3, summary=5 { value=1 { tag=1, simple_value=2 } } }.</summary>
    static (long Step, string? FileVersion, string? Tag, float Value) ParseEvent(byte[] message)
    {
        long step = 0;
        string? fileVersion = null, tag = null;
        float value = float.NaN;
        foreach (var (field, wire, varint, payload) in Fields(message))
        {
            if (field == 2 && wire == 0) step = (long)varint;
            else if (field == 3 && wire == 2) fileVersion = Encoding.UTF8.GetString(payload);
            else if (field == 5 && wire == 2)
                foreach (var v in Fields(payload).Where(f => f.Field == 1 && f.Wire == 2))
                    foreach (var (vf, vw, _, vp) in Fields(v.Payload))
                    {
                        if (vf == 1 && vw == 2) tag = Encoding.UTF8.GetString(vp);
                        if (vf == 2 && vw == 5) value = BinaryPrimitives.ReadSingleLittleEndian(vp);
                    }
        }
        return (step, fileVersion, tag, value);
    }

    static List<(int Field, int Wire, ulong Varint, byte[] Payload)> Fields(byte[] message)
    {
        var fields = new List<(int, int, ulong, byte[])>();
        int pos = 0;
        ulong ReadVarint()
        {
            ulong result = 0;
            for (int shift = 0; ; shift += 7)
            {
                byte b = message[pos++];
                result |= (ulong)(b & 0x7F) << shift;
                if (b < 0x80) return result;
            }
        }
        while (pos < message.Length)
        {
            ulong key = ReadVarint();
            int field = (int)(key >> 3), wire = (int)(key & 7);
            switch (wire)
            {
                case 0: fields.Add((field, wire, ReadVarint(), [])); break;
                case 1: fields.Add((field, wire, 0, message[pos..(pos + 8)])); pos += 8; break;
                case 5: fields.Add((field, wire, 0, message[pos..(pos + 4)])); pos += 4; break;
                case 2:
                    int length = (int)ReadVarint();
                    fields.Add((field, wire, 0, message[pos..(pos + length)]));
                    pos += length;
                    break;
                default: throw new InvalidDataException($"unexpected wire type {wire}");
            }
        }
        return fields;
    }
}
