using System.Text.Json;
using System.Text.Json.Serialization;
using DenseFlow.Flows;

namespace DenseFlow.Model;

public sealed class ConfigException : Exception
{
    public ConfigException(string message) : base(message) { }
}
