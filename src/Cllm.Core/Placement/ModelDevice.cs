using System;
using System.Globalization;
using TorchSharp;

namespace Cllm.Core;

/// <summary>Parses "cpu", "cuda" and "cuda:i" and checks that the device exists before anything is allocated on it.</summary>
internal static class ModelDevice
{
    /// <summary>The device named by <paramref name="name"/>.</summary>
    /// <exception cref="ArgumentException">Not cpu / cuda / cuda:i, or no such CUDA device in this process.</exception>
    public static torch.Device Parse(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        string text = name.Trim().ToLowerInvariant();
        if (text == "cpu")
        {
            return torch.CPU;
        }

        int index = 0;
        bool cuda = text == "cuda" || (text.StartsWith("cuda:", StringComparison.Ordinal)
            && int.TryParse(text.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out index));
        if (!cuda)
        {
            throw new ArgumentException($"device '{name}' is not one of cpu, cuda, cuda:<index>.");
        }

        if (!torch.cuda.is_available())
        {
            throw new ArgumentException($"device '{name}': no CUDA device is available to libtorch (the CPU libtorch package is referenced, or no GPU/driver is present); see docs/large-models.md.");
        }

        int count = torch.cuda.device_count();
        if (index >= count)
        {
            throw new ArgumentException($"device '{name}': only {count} CUDA device(s) are present (cuda:0..cuda:{count - 1}).");
        }

        return new torch.Device(DeviceType.CUDA, index);
    }
}
