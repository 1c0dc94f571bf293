namespace DenseFlow.Model;

public sealed class ConfigException : Exception
{
    public ConfigException(string message) : base(message) { }
}
