using System.Collections.Generic;
using System.Threading;

namespace Cllm.Training;

/// <summary>Where consistency training gets its Jacobi trajectories: a collected data set or a live collector.</summary>
public interface ITrajectorySource
{
    /// <summary>The records, in a stable order.</summary>
    IEnumerable<TrajectoryRecord> Read(CancellationToken cancellationToken = default);
}
