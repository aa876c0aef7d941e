// Which instruction-set variant of the hot kernels runs on this CPU.
#pragma once

namespace shendu {

enum class Isa { Generic = 0, Avx2 = 1, Avx512 = 2 };

Isa detected_isa();          // the best this CPU supports
Isa active_isa();            // the one in use (detected, or lowered by set_active_isa / SHENDU_ISA)
bool set_active_isa(Isa isa);  // false if the CPU cannot run it
const char* isa_name(Isa isa);

}  // namespace shendu
