// Which instruction-set variant of the hot kernels runs on this CPU.
#pragma once

namespace shendu {

enum class Isa { Generic = 0, Avx2 = 1, Avx512 = 2 };

Isa detected_isa();          // the best this CPU supports
Isa active_isa();            // the one in use (detected, or lowered by set_active_isa / SHENDU_ISA)
bool set_active_isa(Isa isa);  // false if the CPU cannot run it
const char* isa_name(Isa isa);

// The active ISA's variant of a kernel family: given the accessors of its three builds (each
// family's <family>_kernels.h declares kernels_generic, kernels_avx2 and kernels_avx512), returns
// what the active one returns, usually its <family>::Kernels table. Only that accessor is called:
// a file built for an ISA may use its instructions anywhere, even in the accessor itself.
template <class Accessor>
decltype(auto) for_isa(Accessor* generic, Accessor* avx2, Accessor* avx512) {
  switch (active_isa()) {
    case Isa::Avx512: return avx512();
    case Isa::Avx2: return avx2();
    case Isa::Generic: break;
  }
  return generic();
}

}  // namespace shendu
