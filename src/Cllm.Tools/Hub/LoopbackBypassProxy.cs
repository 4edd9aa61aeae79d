using System;
using System.Net;
using Cllm.Core;

namespace Cllm.Tools;

/// <summary>
/// The system proxy (HTTP(S)_PROXY, NO_PROXY, ...) except for loopback hosts, which are always reached directly:
/// a proxy cannot reach this machine's loopback, so a local mirror (or test server) would otherwise be unreachable.
/// </summary>
internal sealed class LoopbackBypassProxy(IWebProxy inner) : IWebProxy
{
    public ICredentials? Credentials
    {
        get => inner.Credentials;
        set => inner.Credentials = value;
    }

    public Uri? GetProxy(Uri destination) => destination.IsLoopback ? null : inner.GetProxy(destination);

    public bool IsBypassed(Uri host) => host.IsLoopback || inner.IsBypassed(host);
}
