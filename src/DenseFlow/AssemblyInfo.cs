using System.Runtime.CompilerServices;

// Tests reach the trainer's fault-injection hook.
[assembly: InternalsVisibleTo("DenseFlow.Tests")]
// The tool reaches it too, for the DENSEFLOW_TEST_NAN_STEP hook of the multi-process tests.
[assembly: InternalsVisibleTo("denseflow")]
