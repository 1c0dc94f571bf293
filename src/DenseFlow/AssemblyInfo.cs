using System.Runtime.CompilerServices;

// Tests reach the trainer's fault-injection hook.
[assembly: InternalsVisibleTo("DenseFlow.Tests")]
