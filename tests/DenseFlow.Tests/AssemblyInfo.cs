// Tests share torch's global generator (weight initialisation) and the console (CLI tests), and on
// 2 cores parallel test classes would only compete for the same cores: run them one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
