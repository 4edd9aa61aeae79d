namespace Cllm.Training;

/// <summary>
/// Which two states of a record's trajectory a consistency loss compares: the student sees
/// <c>y(StudentState)</c> and is pulled towards the stop-gradient model's predictions on <c>y(TeacherState)</c>.
/// Indices into <see cref="TrajectoryRecord.Trajectory"/>.
/// </summary>
/// <param name="StudentState">Index of the student's input state y(i).</param>
/// <param name="TeacherState">Index of the teacher's input state: the fixed point (global) or y(i+1) (local).</param>
internal readonly record struct ConsistencyPair(int StudentState, int TeacherState);
