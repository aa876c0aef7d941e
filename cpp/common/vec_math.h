// Vectorizable float32 exp, expm1, log1p, softplus, erf, sigmoid and tanh (on the Cephes expf /
// logf polynomials), for every kernel family that needs them (activations, recurrent gates,
// losses). std::exp and
// std::tanh do not vectorize without -ffast-math; these are branch-free, so a loop over them
// widens to the lanes of the including file's instruction set.
//
// Everything lives in an unnamed namespace: each including file (compiled portable, AVX2 or
// AVX-512) gets its own copy, so the linker can never substitute one ISA's code for another's.
//
// Guarantees the tests rely on: NaN in gives NaN out; no input overflows (exp saturates at
// e^88.37, sigmoid and tanh at 0 / +-1); e^x below the smallest normal float is 0, as the
// kernels' flush-to-zero would make it anyway; tanh keeps full relative accuracy near 0.
#pragma once
#include <cstdint>
#include <cstring>

namespace shendu::vec_math {
namespace {

inline uint32_t bits_of(float x) {
  uint32_t b;
  std::memcpy(&b, &x, sizeof b);
  return b;
}

inline float float_of(uint32_t b) {
  float x;
  std::memcpy(&x, &b, sizeof x);
  return x;
}

// Selects with bit masks rather than ?: : under -ftrapping-math GCC does not if-convert a branch
// that guards floating-point work, and the loops would not vectorize.
inline uint32_t mask_if(bool c) { return 0u - static_cast<uint32_t>(c); }

inline uint32_t select_bits(uint32_t mask, uint32_t a, uint32_t b) {
  return (a & mask) | (b & ~mask);
}

inline float select(uint32_t mask, float a, float b) {
  return float_of(select_bits(mask, bits_of(a), bits_of(b)));
}

inline float abs(float x) { return float_of(bits_of(x) & 0x7FFFFFFFu); }

inline float copysign(float magnitude, float sign) {
  return float_of((bits_of(magnitude) & 0x7FFFFFFFu) | (bits_of(sign) & 0x80000000u));
}

// ln of the smallest normal float: below it e^x is 0.
constexpr float kExpMin = -87.3365448f;
// 127.5 ln 2: above it 2^round(x / ln 2) is no finite float.
constexpr float kExpMax = 88.3762626f;

// e^x = scale * (1 + p), kept split so that e^x - 1 = (scale - 1) + scale * p is exact near 0
// (tanh of small arguments needs it). Cephes expf: x = n ln2 + r, |r| <= ln2 / 2,
// e^r - 1 = r + r^2 P(r); relative error ~1e-7. x is clamped to [kExpMin, kExpMax]; below
// kExpMin scale is 0. A NaN passes the comparisons and makes p NaN.
struct ExpParts {
  float scale, p;
};

inline ExpParts exp_parts(float x) {
  const float xc = select(mask_if(x > kExpMax), kExpMax, select(mask_if(x < kExpMin), kExpMin, x));
  // Adding 1.5 * 2^23 rounds to an integer and leaves it in the low mantissa bits, so n needs no
  // float -> int conversion (undefined for NaN).
  const float shifted = xc * 1.44269504088896341f + 12582912.0f;
  const float n = shifted - 12582912.0f;
  const float r = (xc - n * 0.693359375f) + n * 2.12194440e-4f;
  const float p =
      r + r * r *
              (((((1.9875691500e-4f * r + 1.3981999507e-3f) * r + 8.3334519073e-3f) * r +
                 4.1665795894e-2f) * r + 1.6666665459e-1f) * r + 5.0000001201e-1f);
  // bits(shifted) = 0x4B400000 + n; shifted left by 23 its high part falls off: 2^n remains.
  const float two_n = float_of((bits_of(shifted) + 127u) << 23);
  return {select(mask_if(x < kExpMin), 0.0f, two_n), p};
}

// scale * (1 + p), not scale + scale * p: near e^-87 the product scale * p alone is subnormal,
// and the kernels' flush-to-zero would drop it.
inline float exp(float x) {
  const ExpParts e = exp_parts(x);
  return e.scale * (1.0f + e.p);
}

// ln(1 + x) for x > -1 (or NaN). Cephes logf of u = 1 + x, plus the first-order correction for
// the rounding of u, so small x keep their relative accuracy.
inline float log1p(float x) {
  const float u = 1.0f + x;
  // u = m * 2^e with m in [sqrt(1/2), sqrt(2)): log u = e ln2 + log1p(m - 1).
  const uint32_t b = bits_of(u);
  const uint32_t low_half = mask_if((b & 0x007FFFFFu) < 0x003504F3u);  // mantissa < sqrt 2
  const float m = float_of((b & 0x007FFFFFu) | select_bits(low_half, 0x3F800000u, 0x3F000000u));
  const float e =
      static_cast<float>(static_cast<int32_t>((b >> 23) - select_bits(low_half, 127u, 126u)));
  const float f = m - 1.0f;
  const float z = f * f;
  const float poly =
      ((((((((7.0376836292e-2f * f - 1.1514610310e-1f) * f + 1.1676998740e-1f) * f -
            1.2420140846e-1f) * f + 1.4249322787e-1f) * f - 1.6668057665e-1f) * f +
          2.0000714765e-1f) * f - 2.4999993993e-1f) * f + 3.3333331174e-1f) * f * z;
  const float log_u = (f + (poly - 2.12194440e-4f * e - 0.5f * z)) + 0.693359375f * e;
  return log_u - ((u - 1.0f) - x) / u;
}

// 1 / (1 + e^-x), from e^-|x| so nothing overflows: x < 0 gives e^x / (1 + e^x).
inline float sigmoid(float x) {
  const float ex = exp(-abs(x));
  const float s = 1.0f / (1.0f + ex);
  return select(mask_if(bits_of(x) >> 31), ex * s, s);
}

// (1 - e^-2|x|) / (1 + e^-2|x|) with the sign of x; 1 - e^-2|x| comes from the split exp, so it
// keeps full relative accuracy near 0 without a separate polynomial there.
inline float tanh(float x) {
  const ExpParts e = exp_parts(-2.0f * abs(x));
  const float t = (1.0f - e.scale) - e.scale * e.p;  // 1 - e^-2|x|
  return copysign(t / (2.0f - t), x);
}

// e^x - 1 from the split exp, so small x keep their relative accuracy (elu, selu).
inline float expm1(float x) {
  const ExpParts e = exp_parts(x);
  return (e.scale - 1.0f) + e.scale * e.p;
}

// ln(1 + e^x) as max(x, 0) + log1p(e^-|x|): nothing overflows, and large x give x exactly.
inline float softplus(float x) {
  return select(mask_if(x > 0.0f), x, 0.0f) + log1p(exp(-abs(x)));
}

// erf(x) by Abramowitz & Stegun 7.1.26: 1 - t P(t) e^(-x^2), t = 1 / (1 + 0.3275911 |x|), with the
// sign of x; absolute error below 1.5e-7 (about float32's rounding of values near 1).
inline float erf(float x) {
  const float a = abs(x);
  const float t = 1.0f / (1.0f + 0.3275911f * a);
  const float poly =
      ((((1.061405429f * t - 1.453152027f) * t + 1.421413741f) * t - 0.284496736f) * t +
       0.254829592f) * t;
  return copysign(1.0f - poly * exp(-a * a), x);
}

// out[i] = e^(x[i] - m) with m = max(x) (out may be x), for softmax rows: returns m and the sum
// of out. Max-subtracted, so logits of 1e4 do not overflow. A NaN is missed by max, but
// e^(NaN - m) is NaN and the sum spreads it over the row.
struct ShiftedExp {
  float max, sum;
};

inline ShiftedExp exp_minus_max(const float* x, float* out, int64_t n) {
  float m = -__builtin_inff();
#pragma omp simd reduction(max : m)
  for (int64_t i = 0; i < n; ++i) m = x[i] > m ? x[i] : m;
  float s = 0.0f;
#pragma omp simd reduction(+ : s)
  for (int64_t i = 0; i < n; ++i) {
    out[i] = exp(x[i] - m);
    s += out[i];
  }
  return {m, s};
}

}  // namespace
}  // namespace shendu::vec_math
