namespace DenseFlow.Cli;

/// <summary>A flag takes no value (<c>--json</c>); a value option takes exactly one (<c>--batch 64</c> or <c>--batch=64</c>).</summary>
public enum OptionKind { Flag, Value }
