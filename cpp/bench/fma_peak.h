// How fast this machine multiplies-adds fp32 right now: the ceiling the bench reports kernels
// against. It is measured, not computed from the clock: under a hypervisor the nominal clock is
// the TSC rate, and turbo and AVX-512 licence clocks are invisible.
#pragma once

namespace shendu {

// GFLOP/s of `threads` threads (at most num_threads()) running independent fp32 FMA chains in the
// active ISA's widest vectors together for about `seconds`, with no memory traffic.
double fma_peak_gflops(int threads, double seconds);

}  // namespace shendu
