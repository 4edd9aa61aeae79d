namespace Cllm.Core;

/// <summary>The chat prompt formats Cllm renders itself (no Jinja engine: the common families are recognised by their markers).</summary>
internal enum ChatTemplateKind
{
    /// <summary>No chat template: the messages' text is the prompt, unchanged.</summary>
    None = 0,

    /// <summary>LLaMA-2 chat: <c>&lt;s&gt;[INST] &lt;&lt;SYS&gt;&gt;…&lt;&lt;/SYS&gt;&gt; user [/INST] answer &lt;/s&gt;</c>.</summary>
    Llama2,

    /// <summary>LLaMA-3: <c>&lt;|start_header_id|&gt;role&lt;|end_header_id|&gt;\n\ntext&lt;|eot_id|&gt;</c>.</summary>
    Llama3,

    /// <summary>ChatML (Qwen and others): <c>&lt;|im_start|&gt;role\ntext&lt;|im_end|&gt;\n</c>.</summary>
    ChatML,

    /// <summary>Vicuna v1.1 (FastChat; the ShareGPT CLLM): <c>system USER: text ASSISTANT:</c>, default system prompt when none is given.</summary>
    Vicuna,

    /// <summary>DeepSeek-Coder instruction format (the Spider and Code-Search-Net CLLMs): <c>### Instruction:\ntext\n### Response:\n</c>.</summary>
    Instruction,
}
