using BenchmarkDotNet.Running;

BenchmarkSwitcher.FromAssembly(typeof(Cllm.KernelBenchmarks.Int4A8KernelBenchmarks).Assembly).Run(args);
