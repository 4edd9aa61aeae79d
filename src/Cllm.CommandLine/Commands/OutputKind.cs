namespace Cllm.CommandLine.Commands;

/// <summary>What a command's --output names and how it treats what is already there.</summary>
internal enum OutputKind
{
    /// <summary>A file, checked writable up front (its folder created when missing).</summary>
    File,

    /// <summary>A folder, checked up front to accept new files or to be creatable; the writer creates it when missing.</summary>
    Folder,

    /// <summary>
    /// A folder that must be empty or absent (nothing in it is replaced); created by the writer, and checked up front
    /// that it can be created and accepts new files (the check leaves nothing behind).
    /// </summary>
    NewFolder,
}
