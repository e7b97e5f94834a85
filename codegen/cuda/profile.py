"""Node rows for CUDA programs under `function(..., profile=True)`
(symtheano/compile/profiling.py): each step of a CudaProgram (program.py) timed
on the device.

A profiled call runs the program's steps as an unprofiled one does, with one
device marker (`device.event()`) recorded before the first step and after each
step: on a GPU a CUDA event queued on the stream, on FakeDevice the host clock.
At the end of the call the device is synchronised once and each step's time is
`device.elapsed` between its two markers. Unprofiled calls record nothing (the
program checks one attribute per call, never per step).

What a step's time means on a GPU: the stream's time between the markers, so
a kernel, cuBLAS or device-copy step counts its work on the device, and a step
whose work is on the host (a "host" or "meta" step, a fallback's `perform`)
counts the time the stream waited for it, which is about nothing when the host
work overlapped work queued before it. The markers follow each other on one
stream, so the steps' times never add up to more than the call. Kernel launches
are queued as in an unprofiled call; only the copies and flag reads the steps
make themselves wait for the device.

Fallback steps (and kernel or assemble steps whose kernel declined a call) also
report the bytes they copied between host and device (`CudaProgram.copied_bytes`).
"""

from __future__ import annotations


def run(program, input_values):
    """One call of `program` (see CudaProgram.__call__) with every step timed into
    `program.profile_rows` (profiling.NodeStats, one per step)."""
    device = program.device
    marks, copied = [device.event()], []
    last = [program.copied_bytes]

    def after_step():
        marks.append(device.event())
        copied.append(program.copied_bytes - last[0])
        last[0] = program.copied_bytes

    try:
        return program.run_steps(input_values, after_step)
    finally:
        device.synchronize()
        for row, start, end, n_bytes in zip(program.profile_rows, marks, marks[1:], copied):
            row.seconds += max(0.0, device.elapsed(start, end))
            row.calls += 1
            row.copied_bytes += n_bytes
